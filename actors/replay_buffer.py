"""`ReplayBuffer` actor: a thin Ray wrapper over `ringrift_ray.buffer.ReplayStore`.

Selfplay workers call ``add.remote(batch)`` and wait while the reply says ``throttle``;
trainers call ``ray.get(buffer.sample.remote(n, board, players))`` and retry later on None.
Returned `SampleBatch` arrays travel zero-copy (read-only) through the object store.
"""

from __future__ import annotations

import ray

from actors.errors import log_and_raise
from ringrift_ray.buffer import ReplayStore
from ringrift_ray.config import BufferConfig
from ringrift_ray.selfplay import SampleBatch


@ray.remote
class ReplayBuffer:
    """FIFO windows of samples per (board, players); see `ReplayStore` and `BufferConfig`.

    Args:
        cfg: buffer parameters.
        spill_dir: Parquet shard directory for `save`; its shards are loaded on start, so
            a new actor with the same ``spill_dir`` resumes a killed one's saved samples.
        seed: seed of the sampling randomness.
    """

    @log_and_raise
    def __init__(self, cfg: BufferConfig, spill_dir: str | None = None,
                 seed: int | None = None) -> None:
        self.store = ReplayStore(cfg, spill_dir=spill_dir, seed=seed)

    @log_and_raise
    def add(self, batch: SampleBatch) -> dict:
        """Append samples; returns ``{"size": int, "throttle": bool}``."""
        return self.store.add(batch)

    @log_and_raise
    def sample(self, n: int, board: str, players: int) -> SampleBatch | None:
        """``n`` samples with replacement, or None (warm-up, or trainer ahead of the
        target replay ratio)."""
        return self.store.sample(n, board, players)

    @log_and_raise
    def stats(self) -> dict:
        """Sizes per configuration, inserts_per_s, samples_per_s, replay_ratio,
        policy_lag (see `ReplayStore.stats`)."""
        return self.store.stats()

    @log_and_raise
    def save(self) -> list[str]:
        """Spill samples not yet on disk to Parquet shards; returns the new shard paths."""
        return self.store.save()
