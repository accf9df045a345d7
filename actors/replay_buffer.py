"""`ReplayBuffer` actor: a thin Ray wrapper over `ringrift_ray.replay.buffer.Buffer`.

Selfplay workers call ``add.remote(batch)`` and wait while the `AddReply` says
``throttle``; a trainer calls ``ray.get(buffer.sample.remote(n, board, players))`` and
retries later on None, and DDP ranks share one ``reserve`` of the effective batch and each
``draw`` their part. Returned `SampleBatch` arrays travel zero-copy (read-only) through the
object store.
"""

from __future__ import annotations

import ray

from actors.errors import log_and_raise
from actors.metrics import Recorder
from ringrift_ray.config import BufferConfig
from ringrift_ray.replay.buffer import AddReply, Buffer, BufferStats
from ringrift_ray.samples import SampleBatch


@ray.remote(max_restarts=-1)
class ReplayBuffer:
    """FIFO windows of samples per (board, players); see `Buffer` and `BufferConfig`.

    Restarted after a crash (``max_restarts=-1``): the new process restores the flushed
    Parquet shards of ``spill_dir``, so a crash loses at most one flush interval. Calls in
    flight during a crash fail (``RayActorError``); callers retry them (`call_with_retry`).

    Args:
        cfg: buffer parameters.
        spill_dir: Parquet shard directory for `save`; its shards are loaded on start, so
            a new actor with the same ``spill_dir`` resumes a killed one's saved samples.
        seed: seed of the sampling randomness.
        policy_width: padded policy entries per sample (the selfplay ``policy_top_k``).
        run: the run name, the ``run`` tag of the ``ringrift_buffer_*`` metrics
            (`actors.metrics`; their ``config`` tag is each batch's configuration).
    """

    @log_and_raise
    def __init__(self, cfg: BufferConfig, spill_dir: str | None = None,
                 seed: int | None = None, policy_width: int = 32, run: str = "") -> None:
        self.store = Buffer(cfg, spill_dir=spill_dir, seed=seed, policy_width=policy_width)
        self.metrics = Recorder({"run": run})
        self.flushes, self.lost = self.store.flushes, self.store.lost

    @log_and_raise
    def add(self, batch: SampleBatch, producer: str | None = None, seq: int = 0,
            floor: int = 0) -> AddReply:
        """Append samples; the reply holds the size, whether selfplay should wait, and for
        a ``producer`` the ledger's verdict on batch ``seq`` (`Buffer.add`)."""
        reply = self.store.add(batch, producer, seq, floor)
        self._record(batch.board, batch.players,
                     len(batch) if reply.verdict == "accepted" else 0)
        return reply

    @log_and_raise
    def ledger(self) -> dict[str, dict[str, int]]:
        """Samples received and acknowledged per producer (`Buffer.ledger_totals`)."""
        return self.store.ledger_totals()

    def _record(self, board: str, players: int, added: int) -> None:
        """The ``ringrift_buffer_*`` metrics of one configuration after an add (or a save:
        ``added`` 0); flush seconds and lost samples go to the configuration at hand."""
        config = f"{board}/{players}p"
        self.metrics.inc("ringrift_buffer_samples_added", added, config=config)
        window = self.store.windows.get((board, players))
        if window is not None:
            stats = window.stats()
            self.metrics.set("ringrift_buffer_size", stats.size, config=config)
            self.metrics.set("ringrift_buffer_replay_ratio", stats.replay_ratio,
                             config=config)
        if self.store.flushes != self.flushes:
            self.metrics.observe("ringrift_buffer_flush_seconds", self.store.last_flush_s,
                                 config=config)
            self.metrics.inc("ringrift_buffer_samples_lost", self.store.lost - self.lost,
                             config=config)
            self.flushes, self.lost = self.store.flushes, self.store.lost

    @log_and_raise
    def sample(self, n: int, board: str, players: int) -> SampleBatch | None:
        """``n`` samples with replacement, or None (warm-up, or trainer ahead of the
        target replay ratio)."""
        return self.store.sample(n, board, players)

    @log_and_raise
    def reserve(self, n: int, board: str, players: int) -> bool:
        """Claim ``n`` samples of the replay-ratio budget for `draw` calls (DDP: rank 0
        claims the effective batch, every rank draws its part); False while warming up or
        while the trainer is ahead."""
        return self.store.reserve(n, board, players)

    @log_and_raise
    def draw(self, n: int, board: str, players: int) -> SampleBatch:
        """``n`` samples out of an earlier `reserve` (an independent draw per call)."""
        return self.store.draw(n, board, players)

    @log_and_raise
    def stats(self) -> BufferStats:
        """Sizes, rates, replay ratio and model versions (see `Buffer.stats`)."""
        return self.store.stats()

    @log_and_raise
    def restored(self) -> int:
        """Samples this process loaded from ``spill_dir`` when it started."""
        return self.store.restored

    @log_and_raise
    def save(self) -> list[str]:
        """Spill samples not yet on disk to Parquet shards; returns the new shard paths."""
        paths = self.store.save()
        for board, players in list(self.store.windows):
            self._record(board, players, 0)
        return paths
