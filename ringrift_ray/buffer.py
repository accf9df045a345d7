"""Replay storage (no Ray): a FIFO window of samples per (board, players) configuration.

`SampleStore` holds one configuration in preallocated numpy arrays used as a ring;
`ReplayStore` keeps one `SampleStore` per configuration, measures rates, and spills to /
restores from Parquet shards (`ringrift_ray.replay`). The `ReplayBuffer` actor
(``actors/replay_buffer.py``) is a thin Ray wrapper over `ReplayStore`.

Layout of one store (``cap`` = ``BufferConfig.capacity``, ``W`` = policy width, the
selfplay ``policy_top_k``): the `samples.ROW_FIELDS` as ``[cap, ...]`` arrays of the
`SampleBatch` dtypes, and the ragged policy target padded to ``W`` entries:

| array          | dtype / shape          | meaning                                      |
|----------------|------------------------|----------------------------------------------|
| policy_len     | uint16 [cap]           | policy entries of the sample (<= W)          |
| policy_indices | int32 [cap, W]         | action indices, padded with 0 after len      |
| policy_values  | float32 [cap, W]       | probabilities, padded with 0 after len       |

Sample number ``s`` (counted from 0 over the store's lifetime) lives in slot
``s % cap``; its age is ``written - 1 - s``. The padded policy layout makes a sampled row
one gather (no offset bookkeeping); with ``W = 32`` a square8 sample takes 977 bytes
(686 state + 256 policy + 35 other). A batch whose samples have more than ``W`` entries
widens the policy arrays (a copy, logged).

Rate limit and recency weighting: see `BufferConfig`.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ringrift_ray import replay
from ringrift_ray.config import BufferConfig
from ringrift_ray.game.geometry import BOARD_TYPES
from ringrift_ray.samples import ROW_FIELDS, SampleBatch

log = logging.getLogger(__name__)

MAX_POLICY_WIDTH = np.iinfo(np.uint16).max


@dataclass(frozen=True)
class AddReply:
    """`ReplayStore.add`'s answer to a writer."""

    size: int  # samples now held for the batch's configuration
    throttle: bool  # selfplay is ahead of the target replay ratio and should wait


@dataclass(frozen=True)
class ConfigStats:
    """One configuration's window (`SampleStore.stats`)."""

    size: int  # samples held
    added: int  # samples added after warm-up (the rate limit's inserts)
    sampled: int  # samples handed out
    replay_ratio: float  # sampled / added (0 before any insert)
    newest_model_version: int  # largest model_version added (-1 before any)
    sampled_model_version: float | None  # mean model_version of the last sampled batch
    throttle: bool  # selfplay should wait
    nbytes: int  # bytes of the preallocated arrays


@dataclass(frozen=True)
class BufferStats:
    """All configurations (`ReplayStore.stats`)."""

    size: int  # samples held, all configurations
    inserts_per_s: float  # over about the last minute
    samples_per_s: float
    replay_ratio: float  # total sampled / total added
    nbytes: int
    configs: dict[str, ConfigStats]  # keys "square8/2p"


class SampleStore:
    """FIFO window of one (board, players) configuration; see the module docstring.

    Args:
        board, players: the configuration every added batch must have.
        cfg: capacity, warm-up, recency weighting and rate limit.
        rng: randomness for `sample`.
        policy_width: initial ``W`` (the selfplay ``policy_top_k``); a batch with more
            entries per sample widens the store (a copy, logged).
    """

    def __init__(self, board: str, players: int, cfg: BufferConfig,
                 rng: np.random.Generator | None = None, policy_width: int = 32) -> None:
        self.board, self.players, self.cfg = board, players, cfg
        self.rng = rng if rng is not None else np.random.default_rng()
        self.rows: dict[str, np.ndarray] = {}  # ROW_FIELDS -> [cap, ...], allocated on add
        self.policy_len = np.zeros(cfg.capacity, dtype=np.uint16)
        self.policy_indices = np.zeros((cfg.capacity, policy_width), dtype=np.int32)
        self.policy_values = np.zeros((cfg.capacity, policy_width), dtype=np.float32)
        self.written = 0  # samples ever written, restored ones included
        self.saved = 0  # samples numbered below this are on disk (or came from it)
        self.added = 0  # samples added after warm-up (the rate limit's inserts)
        self.sampled = 0  # samples handed out by `sample`
        self.newest_version = -1
        self.last_sample_version = math.nan  # mean model_version of the last sampled batch

    def __len__(self) -> int:
        return min(self.written, self.cfg.capacity)

    @property
    def budget(self) -> float:
        """Samples the trainer may still draw: ``target_replay_ratio * added - sampled``."""
        ratio = self.cfg.target_replay_ratio
        return math.inf if ratio is None else ratio * self.added - self.sampled

    @property
    def throttle(self) -> bool:
        """True when selfplay is ahead of the target replay ratio and should wait."""
        return (self.cfg.target_replay_ratio is not None and len(self) >= self.cfg.min_samples
                and self.budget > self.cfg.throttle_slack)

    def nbytes(self) -> int:
        """Bytes of the preallocated arrays (pages never written may not be resident)."""
        arrays = [*self.rows.values(), self.policy_len, self.policy_indices, self.policy_values]
        return sum(a.nbytes for a in arrays)

    def add(self, batch: SampleBatch) -> None:
        """Append ``batch`` (oldest samples drop out once the window is full).

        Raises:
            ValueError: another configuration, or arrays whose shapes / dtypes differ from
                the samples already held, or malformed policy offsets.
        """
        warm = max(0, self.cfg.min_samples - len(self))
        self._write(batch)
        self.added += max(0, len(batch) - warm)

    def load(self, batch: SampleBatch) -> None:
        """Append samples read back from disk: they fill the window but are not counted as
        inserts by the rate limit and are not spilled again."""
        self._write(batch)
        self.saved = self.written

    def sample(self, n: int) -> SampleBatch | None:
        """``n`` samples drawn with replacement (uniform or recency-weighted).

        Returns:
            The samples, or None while fewer than ``min_samples`` are held or while the
            trainer is ahead of the target replay ratio (``budget <= 0``).
        """
        if n < 1:
            raise ValueError(f"sample size must be >= 1, got {n}")
        size = len(self)
        if size < self.cfg.min_samples or self.budget <= 0:
            return None
        ages = self._draw_ages(n, size)
        batch = self._gather((self.written - 1 - ages) % self.cfg.capacity)
        self.sampled += n
        self.last_sample_version = float(batch.model_version.mean())
        return batch

    def unsaved(self) -> SampleBatch | None:
        """Held samples not yet on disk, oldest first (None if there are none); call
        `mark_saved` once they are written."""
        first = max(self.saved, self.written - len(self))
        if first >= self.written:
            return None
        return self._gather(np.arange(first, self.written) % self.cfg.capacity)

    def mark_saved(self) -> None:
        self.saved = self.written

    def stats(self) -> ConfigStats:
        """Size, counters, replay ratio and model versions of this configuration."""
        sampled_version = self.last_sample_version
        return ConfigStats(
            size=len(self), added=self.added, sampled=self.sampled,
            replay_ratio=self.sampled / self.added if self.added else 0.0,
            newest_model_version=self.newest_version,
            sampled_model_version=None if math.isnan(sampled_version) else sampled_version,
            throttle=self.throttle, nbytes=self.nbytes())

    def _draw_ages(self, n: int, size: int) -> np.ndarray:
        """Ages in [0, size), 0 = newest, P(a) proportional to exp(-lam * a / size): the
        floor of an exponential truncated to [0, size) (inverse CDF), exact per integer."""
        lam = self.cfg.recency_weight
        if lam == 0.0:
            return self.rng.integers(0, size, n)
        u = self.rng.random(n)
        ages = np.floor(-size / lam * np.log1p(u * np.expm1(-lam))).astype(np.int64)
        return np.minimum(ages, size - 1)

    def _gather(self, slots: np.ndarray) -> SampleBatch:
        """The samples in ``slots`` (in that order) as a fresh `SampleBatch`."""
        lens = self.policy_len[slots].astype(np.int64)
        offsets = np.zeros(len(slots) + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        mask = np.arange(self.policy_indices.shape[1]) < lens[:, None]  # [n, W]
        rows = {f: a[slots] for f, a in self.rows.items()}
        return SampleBatch(self.board, self.players, policy_offsets=offsets,
                           policy_indices=self.policy_indices[slots][mask],
                           policy_values=self.policy_values[slots][mask], **rows)

    def _write(self, batch: SampleBatch) -> None:
        if (batch.board, batch.players) != (self.board, self.players):
            raise ValueError(f"store holds {self.board}/{self.players}p, "
                             f"got {batch.board}/{batch.players}p")
        n = len(batch)
        if n == 0:
            return
        lens = self._check(batch)
        if not self.rows:
            self.rows = {f: np.zeros((self.cfg.capacity, *getattr(batch, f).shape[1:]),
                                     dtype=getattr(batch, f).dtype) for f in ROW_FIELDS}
        if lens.max() > self.policy_indices.shape[1]:
            self._widen(int(lens.max()))
        first = n - min(n, self.cfg.capacity)  # a batch larger than the window keeps its tail
        rows = np.arange(first, n)
        slots = (self.written + rows) % self.cfg.capacity
        for f in ROW_FIELDS:
            self.rows[f][slots] = getattr(batch, f)[first:]
        lens, starts = lens[first:], batch.policy_offsets[first:-1]
        pad_idx = np.zeros((len(rows), self.policy_indices.shape[1]), dtype=np.int32)
        pad_val = np.zeros(pad_idx.shape, dtype=np.float32)
        entry_row = np.repeat(np.arange(len(rows)), lens)  # one per policy entry
        entry_col = np.arange(len(entry_row)) - np.repeat(starts - starts[0], lens)
        entries = slice(int(starts[0]), int(batch.policy_offsets[-1]))
        pad_idx[entry_row, entry_col] = batch.policy_indices[entries]
        pad_val[entry_row, entry_col] = batch.policy_values[entries]
        self.policy_indices[slots] = pad_idx
        self.policy_values[slots] = pad_val
        self.policy_len[slots] = lens
        self.written += n
        self.newest_version = max(self.newest_version, int(batch.model_version.max()))

    def _check(self, batch: SampleBatch) -> np.ndarray:
        """Validate ``batch`` against the store; return its policy lengths [N]."""
        n = len(batch)
        for f in ROW_FIELDS:
            a = getattr(batch, f)
            if len(a) != n:
                raise ValueError(f"{f} has {len(a)} rows, values has {n}")
            if self.rows and (a.shape[1:], a.dtype) != (self.rows[f].shape[1:],
                                                        self.rows[f].dtype):
                raise ValueError(f"{f} is {a.dtype}{list(a.shape[1:])} per sample, store "
                                 f"holds {self.rows[f].dtype}{list(self.rows[f].shape[1:])}")
        off = batch.policy_offsets
        lens = np.diff(off)
        if len(off) != n + 1 or (lens < 0).any() or off[-1] > len(batch.policy_indices):
            raise ValueError("policy_offsets must be N + 1 non-decreasing offsets into "
                             "policy_indices")
        if len(batch.policy_indices) != len(batch.policy_values):
            raise ValueError("policy_indices and policy_values differ in length")
        if lens.max() > MAX_POLICY_WIDTH:
            raise ValueError(f"a sample has {lens.max()} policy entries (max "
                             f"{MAX_POLICY_WIDTH})")
        return lens

    def _widen(self, width: int) -> None:
        log.warning("%s/%dp: widening policy storage from %d to %d entries per sample "
                    "(SelfplayConfig.policy_top_k sets the width)", self.board, self.players,
                    self.policy_indices.shape[1], width)
        pad = ((0, 0), (0, width - self.policy_indices.shape[1]))
        self.policy_indices = np.pad(self.policy_indices, pad)
        self.policy_values = np.pad(self.policy_values, pad)


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


class ReplayStore:
    """One `SampleStore` per (board, players), with rates and Parquet spill / restore.

    Args:
        cfg: buffer parameters (shared by every configuration).
        spill_dir: where `save` writes Parquet shards; existing shards there are loaded
            now (`restore`).
        seed: seed of the sampling randomness.
        policy_width: policy entries per sample in the padded layout; pass the selfplay
            ``policy_top_k``.
    """

    def __init__(self, cfg: BufferConfig, spill_dir: str | Path | None = None,
                 seed: int | None = None, policy_width: int = 32) -> None:
        self.cfg, self.policy_width = cfg, policy_width
        self.spill_dir = None if spill_dir is None else Path(spill_dir)
        self.rng = np.random.default_rng(seed)
        self.stores: dict[tuple[str, int], SampleStore] = {}
        self.inserts, self.samples = RateMeter(), RateMeter()
        if self.spill_dir is not None:
            self.restore()

    def add(self, batch: SampleBatch) -> AddReply:
        """Append samples of one configuration.

        Raises:
            ValueError: see `SampleStore.add`.
        """
        store = self._store(batch.board, batch.players)
        store.add(batch)
        self.inserts.add(len(batch))
        return AddReply(size=len(store), throttle=store.throttle)

    def sample(self, n: int, board: str, players: int) -> SampleBatch | None:
        """``n`` samples of one configuration (see `SampleStore.sample`); None also when
        the configuration has never been added."""
        store = self.stores.get((board, players))
        if store is None:
            if n < 1:
                raise ValueError(f"sample size must be >= 1, got {n}")
            return None
        batch = store.sample(n)
        if batch is not None:
            self.samples.add(n)
        return batch

    def stats(self) -> BufferStats:
        """Totals and per-configuration stats (keys ``"square8/2p"``); ``replay_ratio`` is
        total sampled / total added (after warm-up)."""
        added = sum(s.added for s in self.stores.values())
        sampled = sum(s.sampled for s in self.stores.values())
        return BufferStats(
            size=sum(len(s) for s in self.stores.values()),
            inserts_per_s=self.inserts.rate(), samples_per_s=self.samples.rate(),
            replay_ratio=sampled / added if added else 0.0,
            nbytes=sum(s.nbytes() for s in self.stores.values()),
            configs={f"{b}/{p}p": s.stats() for (b, p), s in sorted(self.stores.items())})

    def save(self) -> list[str]:
        """Write held samples not yet on disk to Parquet shards in ``spill_dir``. Shard
        names sort in write order (a UTC time stamp with nanoseconds), which `restore`
        relies on. Samples that left the window before a `save` are not written.

        Returns:
            Paths of the new shards (one per configuration with unsaved samples).

        Raises:
            ValueError: the store has no ``spill_dir``.
        """
        if self.spill_dir is None:
            raise ValueError("save() needs a spill_dir")
        paths = []
        for store in self.stores.values():
            batch = store.unsaved()
            if batch is not None:
                paths.append(str(replay.write_shard(batch, self.spill_dir)))
                store.mark_saved()
        return paths

    def restore(self) -> int:
        """Load the newest shards of ``spill_dir``, up to ``capacity`` samples per
        configuration, oldest first (`replay.read_shards` with ``on_error="skip"``: a shard
        that fails to read is skipped with a warning naming it). Restored samples are not
        counted as inserts by the rate limit and are not written again by `save`.

        Returns:
            Samples loaded.
        """
        if self.spill_dir is None or not self.spill_dir.is_dir():
            return 0
        loaded = 0
        for board in BOARD_TYPES:
            for players in (2, 3, 4):
                batch = replay.read_shards(self.spill_dir, board, players, on_error="skip",
                                           newest=self.cfg.capacity)
                if batch is not None:
                    self._store(board, players).load(batch)
                    loaded += len(batch)
        log.info("restored %d samples from %s", loaded, self.spill_dir)
        return loaded

    def _store(self, board: str, players: int) -> SampleStore:
        key = (board, players)
        if key not in self.stores:
            if board not in BOARD_TYPES or players not in (2, 3, 4):
                raise ValueError(f"unknown configuration {board}/{players}p")
            self.stores[key] = SampleStore(board, players, self.cfg, self.rng,
                                           self.policy_width)
        return self.stores[key]
