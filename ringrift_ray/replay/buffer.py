"""Replay storage (no Ray): one FIFO window (`window.Window`) per (board, players)
configuration, insert / sample rates, and spill to / restore from Parquet shards
(`ringrift_ray.replay.shards`). The `ReplayBuffer` actor (``actors/replay_buffer.py``) is a thin
Ray wrapper over `Buffer`. Window layout, recency weighting and the rate limit: see
``window.py`` and `BufferConfig`.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ringrift_ray import storage
from ringrift_ray.config import BufferConfig
from ringrift_ray.game import BOARD_TYPES
from ringrift_ray.replay import shards
from ringrift_ray.replay.ledger import Ledger
from ringrift_ray.replay.window import ConfigStats, Window
from ringrift_ray.samples import SampleBatch

log = logging.getLogger(__name__)
LEDGER_IDLE_S = 3600.0  # a producer silent this long with all of it on disk is forgotten

class StoreUnavailable(OSError):
    """Flushes to the shard directory have failed for longer than
    ``BufferConfig.store_outage_s``; the message names the directory, the operation and the
    last error. The samples not yet written are still held in the buffer."""


@dataclass(frozen=True)
class AddReply:
    """`Buffer.add`'s answer to a writer."""

    size: int  # samples now held for the batch's configuration
    throttle: bool  # selfplay is ahead of the target replay ratio and should wait
    verdict: str = "accepted"  # `ledger.Verdict` ("accepted", "duplicate", "gap"), or "full"
    # (the store is failing and the window holds only unwritten samples: hold it, send later)
    expected: int = 0  # the producer's next batch number the buffer will accept
    durable_seq: int = -1  # the producer's highest batch number on disk (acknowledged)


@dataclass(frozen=True)
class BufferStats:
    """All configurations (`Buffer.stats`)."""

    size: int  # samples held, all configurations
    inserts_per_s: float  # over about the last minute
    samples_per_s: float
    replay_ratio: float  # total sampled / total added
    nbytes: int
    configs: dict[str, ConfigStats]  # keys "square8/2p"


class RateMeter:
    """Events per second over roughly the last ``window_s`` seconds (1 s resolution)."""

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self.total = 0
        self.marks: deque[tuple[float, int]] = deque([(time.monotonic(), 0)])

    def add(self, count: int) -> None:
        self.total += count
        now = time.monotonic()
        if now - self.marks[-1][0] >= 1.0:
            self.marks.append((now, self.total))
        while len(self.marks) > 2 and now - self.marks[1][0] > self.window_s:
            self.marks.popleft()

    def rate(self) -> float:
        t0, c0 = self.marks[0]
        return (self.total - c0) / max(time.monotonic() - t0, 1e-9)


class Buffer:
    """One `Window` per (board, players), with rates and Parquet spill / restore.

    Args:
        cfg: buffer parameters (shared by every configuration).
        spill_dir: where `save` writes Parquet shards, a path or a URI
            (`ringrift_ray.storage`); existing shards there are loaded
            now (`restore`). With a ``spill_dir``, `add` also flushes new samples every
            ``cfg.flush_every_s`` seconds or ``cfg.flush_every_samples`` samples, so a
            crash loses at most one flush interval.
        seed: seed of the sampling randomness.
        policy_width: policy entries per sample in the padded layout; pass the selfplay
            ``policy_top_k``.
    """

    def __init__(self, cfg: BufferConfig, spill_dir: storage.Location | None = None,
                 seed: int | None = None, policy_width: int = 32) -> None:
        self.cfg, self.policy_width = cfg, policy_width
        self.spill_dir = (spill_dir if spill_dir is None or storage.is_uri(spill_dir)
                          else Path(spill_dir))
        self.rng = np.random.default_rng(seed)
        self.windows: dict[tuple[str, int], Window] = {}
        self.ledgers: dict[tuple[str, int], Ledger] = {}  # acknowledged / durable batches
        self.inserts, self.samples = RateMeter(), RateMeter()
        self.unflushed, self.last_flush = 0, time.monotonic()
        self.flushes, self.last_flush_s, self.lost = 0, 0.0, 0  # `save` calls, its seconds,
        # samples that left a window before a save wrote them
        self.failing_since: float | None = None  # monotonic time of the first failed flush
        self.retry_at, self.failures = 0.0, 0  # next flush attempt while failing
        self.restored = 0
        if self.spill_dir is not None:
            self.restored = self.restore()

    def add(self, batch: SampleBatch, producer: str | None = None, seq: int = 0,
            floor: int = 0) -> AddReply:
        """Append samples of one configuration. With a ``producer``, batch ``seq`` is
        received only in order (`ledger.Ledger.verdict`): a duplicate is dropped and a
        gap refused, both without adding; the reply says which and what comes next. While
        the store fails, a batch that would push unwritten samples out of the window is
        refused as ``"full"`` (the producer holds it; nothing received is evicted).

        Raises:
            ValueError: see `Window.add` and `Ledger.verdict`.
        """
        window = self._window(batch.board, batch.players)
        ledger = self.ledgers[(batch.board, batch.players)]
        verdict = "accepted" if producer is None else ledger.verdict(producer, seq, floor)
        if verdict == "accepted" and producer is not None and self._full(window, len(batch)):
            verdict = "full"
        if verdict == "accepted":
            window.add(batch)
            if producer is not None:
                ledger.record(producer, seq, len(batch))
            self.inserts.add(len(batch))
            self.unflushed += len(batch)
            if self.spill_dir is not None and (
                    self.unflushed >= self.cfg.flush_every_samples
                    or time.monotonic() - self.last_flush >= self.cfg.flush_every_s):
                self._flush_or_hold()
        return AddReply(size=len(window), throttle=window.throttle, verdict=verdict,
                        expected=ledger.expected(producer) if producer else 0,
                        durable_seq=ledger.durable_seq(producer) if producer else -1)

    def _full(self, window: Window, incoming: int) -> bool:
        """Whether ``incoming`` more samples would push unwritten ones out of the window
        (the store is failing): try a flush first; a producer's batch is then refused
        (``"full"``, the producer holds it) rather than evicting received samples."""
        unwritten = window.written - window.saved
        if self.spill_dir is None or not unwritten or unwritten + incoming <= self.cfg.capacity:
            return False
        self._flush_or_hold()
        return window.written > window.saved

    def _flush_or_hold(self) -> None:
        """`save`, or, when the store refuses, keep the samples held and try again later
        (backoff 1, 2, 4 ... s, at most ``flush_every_s``); a sample that leaves its window
        meanwhile is counted in ``lost`` and logged.

        Raises:
            StoreUnavailable: flushes have failed for over ``cfg.store_outage_s`` seconds.
        """
        now = time.monotonic()
        if now < self.retry_at:
            return
        lost = self.lost
        try:
            self.save()
        except OSError as e:
            self.failures += 1
            self.failing_since = self.failing_since or now
            down = now - self.failing_since
            if down > self.cfg.store_outage_s:
                raise StoreUnavailable(
                    f"writing replay shards to {self.spill_dir} has failed for {down:.0f} s "
                    f"(buffer.store_outage_s = {self.cfg.store_outage_s:g}); "
                    f"{self.unflushed} samples are held unwritten; last error: {e}") from e
            delay = min(2.0 ** (self.failures - 1), self.cfg.flush_every_s)
            self.retry_at = now + delay
            log.warning("flush to %s failed (%s); %d samples held, retrying in %.0f s",
                        self.spill_dir, e, self.unflushed, delay)
            return
        if self.failing_since is not None:
            log.warning("flush to %s works again after %.0f s", self.spill_dir,
                        now - self.failing_since)
        self.failing_since, self.failures, self.retry_at = None, 0, 0.0
        if self.lost > lost:
            log.warning("%d samples left the window before they could be written",
                        self.lost - lost)

    def sample(self, n: int, board: str, players: int) -> SampleBatch | None:
        """``n`` samples of one configuration (see `Window.sample`); None also when
        the configuration has never been added."""
        return self.draw(n, board, players) if self.reserve(n, board, players) else None

    def reserve(self, n: int, board: str, players: int) -> bool:
        """Claim ``n`` samples of one configuration's budget (`Window.reserve`);
        False also when the configuration has never been added."""
        if n < 1:
            raise ValueError(f"sample size must be >= 1, got {n}")
        window = self.windows.get((board, players))
        return window is not None and window.reserve(n)

    def draw(self, n: int, board: str, players: int) -> SampleBatch:
        """``n`` samples out of an earlier `reserve` (`Window.draw`).

        Raises:
            ValueError: more samples than are reserved, or a configuration never added.
        """
        window = self.windows.get((board, players))
        if window is None:
            raise ValueError(f"no {board}/{players}p samples to draw")
        batch = window.draw(n)
        self.samples.add(n)
        return batch

    def stats(self) -> BufferStats:
        """Totals and per-configuration stats (keys ``"square8/2p"``); ``replay_ratio`` is
        total sampled / total added (after warm-up)."""
        added = sum(s.added for s in self.windows.values())
        sampled = sum(s.sampled for s in self.windows.values())
        return BufferStats(
            size=sum(len(s) for s in self.windows.values()),
            inserts_per_s=self.inserts.rate(), samples_per_s=self.samples.rate(),
            replay_ratio=sampled / added if added else 0.0,
            nbytes=sum(s.nbytes() for s in self.windows.values()),
            configs={f"{b}/{p}p": s.stats() for (b, p), s in sorted(self.windows.items())})

    def save(self) -> list[str]:
        """Write held samples not yet on disk to Parquet shards in ``spill_dir``. Shard
        names sort in write order (a UTC time stamp with nanoseconds), which `restore`
        relies on. Samples that left the window before a `save` are not written.

        Returns:
            Paths of the new shards (one per configuration with unsaved samples).

        Raises:
            ValueError: the buffer has no ``spill_dir``.
        """
        if self.spill_dir is None:
            raise ValueError("save() needs a spill_dir")
        paths, t0 = [], time.perf_counter()
        for key, window in self.windows.items():
            evicted, batch, ledger = window.evicted_unsaved(), window.unsaved(), self.ledgers[key]
            if batch is not None:
                ledger.prune(LEDGER_IDLE_S)
                paths.append(str(shards.write_shard(batch, self.spill_dir,
                                                    metadata={"ledger": ledger.snapshot()})))
            window.mark_saved()
            ledger.mark_durable()
            self.lost += evicted
        self.unflushed, self.last_flush = 0, time.monotonic()
        self.flushes, self.last_flush_s = self.flushes + 1, time.perf_counter() - t0
        return paths

    def restore(self) -> int:
        """Load the newest shards of ``spill_dir``, up to ``capacity`` samples per
        configuration, oldest first (`shards.read_shards` with ``on_error="skip"``: a shard
        that fails to read is moved aside into ``quarantine/``, logged, and the others
        load). Restored samples are not counted as inserts by the rate limit and are not
        written again by `save`.

        Returns:
            Samples loaded.
        """
        if self.spill_dir is None or not storage.is_dir(self.spill_dir):
            return 0
        loaded = 0
        for board in BOARD_TYPES:
            for players in (2, 3, 4):
                batch = shards.read_shards(self.spill_dir, board, players, on_error="skip",
                                           newest=self.cfg.capacity)
                if batch is not None:
                    self._window(board, players).load(batch)
                    loaded += len(batch)
                    self._restore_ledger(board, players)
        log.info("restored %d samples from %s", loaded, self.spill_dir)
        return loaded

    def _restore_ledger(self, board: str, players: int) -> None:
        """The ledger of the newest shard of a configuration that records one (a shard
        with an unreadable ledger is logged and the configuration starts a new one)."""
        text = shards.newest_metadata(self.spill_dir, board, players, "ledger")
        if text is None:
            return
        try:
            self.ledgers[(board, players)] = Ledger.from_snapshot(text)
        except ValueError as e:
            log.warning("%s %s/%dp: %s; producers send again from their oldest held batch",
                        self.spill_dir, board, players, e)

    def ledger_totals(self) -> dict[str, dict[str, int]]:
        """``{producer: {"received": samples, "acknowledged": samples on disk}}`` over
        every configuration (producers of earlier runs included until pruned)."""
        out: dict[str, dict[str, int]] = {}
        for ledger in self.ledgers.values():
            for p, e in ledger.entries.items():
                total = out.setdefault(p, {"received": 0, "acknowledged": 0})
                total["received"] += e.received
                total["acknowledged"] += e.durable
        return out

    def _window(self, board: str, players: int) -> Window:
        key = (board, players)
        if key not in self.windows:
            if board not in BOARD_TYPES or players not in (2, 3, 4):
                raise ValueError(f"unknown configuration {board}/{players}p")
            self.windows[key] = Window(board, players, self.cfg, self.rng,
                                           self.policy_width)
            self.ledgers[key] = Ledger()
        return self.windows[key]
