"""`ReplayBuffer` actor: a thin Ray wrapper over `ringrift_ray.buffer.ReplayStore`.

Selfplay workers call ``add.remote(batch)`` and wait while the `AddReply` says
``throttle``; trainers call ``ray.get(buffer.sample.remote(n, board, players))`` and retry
later on None. Returned `SampleBatch` arrays travel zero-copy (read-only) through the
object store.
"""

from __future__ import annotations

import ray

from actors.errors import log_and_raise
from ringrift_ray.buffer import AddReply, BufferStats, ReplayStore
from ringrift_ray.config import BufferConfig
from ringrift_ray.samples import SampleBatch


@ray.remote
class ReplayBuffer:
    """FIFO windows of samples per (board, players); see `ReplayStore` and `BufferConfig`.

    Args:
        cfg: buffer parameters.
        spill_dir: Parquet shard directory for `save`; its shards are loaded on start, so
            a new actor with the same ``spill_dir`` resumes a killed one's saved samples.
        seed: seed of the sampling randomness.
        policy_width: padded policy entries per sample (the selfplay ``policy_top_k``).
    """

    @log_and_raise
    def __init__(self, cfg: BufferConfig, spill_dir: str | None = None,
                 seed: int | None = None, policy_width: int = 32) -> None:
        self.store = ReplayStore(cfg, spill_dir=spill_dir, seed=seed, policy_width=policy_width)

    @log_and_raise
    def add(self, batch: SampleBatch) -> AddReply:
        """Append samples; the reply holds the size and whether selfplay should wait."""
        return self.store.add(batch)

    @log_and_raise
    def sample(self, n: int, board: str, players: int) -> SampleBatch | None:
        """``n`` samples with replacement, or None (warm-up, or trainer ahead of the
        target replay ratio)."""
        return self.store.sample(n, board, players)

    @log_and_raise
    def stats(self) -> BufferStats:
        """Sizes, rates, replay ratio and model versions (see `ReplayStore.stats`)."""
        return self.store.stats()

    @log_and_raise
    def save(self) -> list[str]:
        """Spill samples not yet on disk to Parquet shards; returns the new shard paths."""
        return self.store.save()
