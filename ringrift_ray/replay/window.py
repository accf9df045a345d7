"""The FIFO window of one (board, players) configuration (no Ray): `Window` holds
its samples in preallocated numpy arrays used as a ring, draws them (uniform or
recency-weighted) and keeps the replay-ratio budget. `buffer.Buffer` holds one per
configuration.

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
from dataclasses import dataclass

import numpy as np

from ringrift_ray.config import BufferConfig
from ringrift_ray.samples import ROW_FIELDS, SampleBatch

log = logging.getLogger(__name__)

MAX_POLICY_WIDTH = np.iinfo(np.uint16).max


@dataclass(frozen=True)
class ConfigStats:
    """One configuration's window (`Window.stats`)."""

    size: int  # samples held
    added: int  # samples added after warm-up (the rate limit's inserts)
    sampled: int  # samples handed out
    replay_ratio: float  # sampled / added (0 before any insert)
    newest_model_version: int  # largest model_version added (-1 before any)
    sampled_model_version: float | None  # mean model_version of the last sampled batch
    throttle: bool  # selfplay should wait
    nbytes: int  # bytes of the preallocated arrays


class Window:
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
        self.sampled = 0  # samples handed out by `sample` or claimed by `reserve`
        self.reserved = 0  # claimed by `reserve`, not drawn yet
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
        """``n`` samples drawn with replacement (uniform or recency-weighted): `reserve`
        then `draw`.

        Returns:
            The samples, or None while fewer than ``min_samples`` are held or while the
            trainer is ahead of the target replay ratio (``budget <= 0``).

        Raises:
            ValueError: ``n < 1``.
        """
        return self.draw(n) if self.reserve(n) else None

    def reserve(self, n: int) -> bool:
        """Claim ``n`` samples of the replay-ratio budget for later `draw` calls.

        One claim for several draws is how DDP trains: rank 0 reserves
        ``batch_size * world_size`` samples and every rank draws its own ``batch_size``, so
        the rate limit counts the effective batch and no rank is refused after another one
        got a batch.

        Returns:
            True when claimed (counted as sampled now); False, claiming nothing, while fewer
            than ``min_samples`` are held or while ``budget <= 0``.

        Raises:
            ValueError: ``n < 1``.
        """
        if n < 1:
            raise ValueError(f"sample size must be >= 1, got {n}")
        if len(self) < self.cfg.min_samples or self.budget <= 0:
            return False
        self.sampled += n
        self.reserved += n
        return True

    def draw(self, n: int) -> SampleBatch:
        """``n`` samples out of an earlier `reserve`, drawn with replacement (uniform or
        recency-weighted) by this store's generator: each call is an independent draw.
        Drawing beyond the reservation (a restarted buffer lost it while DDP ranks were
        between `reserve` and `draw`) counts the excess as sampled and warns, so the ranks
        stay in step.

        Raises:
            ValueError: ``n < 1``, or an empty store.
        """
        if n < 1:
            raise ValueError(f"sample size must be >= 1, got {n}")
        if len(self) == 0:
            raise ValueError(f"{self.board}/{self.players}p: no samples to draw")
        if n > self.reserved:  # e.g. the reservation died with a previous buffer process
            log.warning("%s/%dp: draw(%d) beyond the %d reserved samples; counting the rest "
                        "as sampled", self.board, self.players, n, self.reserved)
            self.sampled += n - self.reserved
            self.reserved = n
        self.reserved -= n
        ages = self._draw_ages(n, len(self))
        batch = self._gather((self.written - 1 - ages) % self.cfg.capacity)
        self.last_sample_version = float(batch.model_version.mean())
        return batch

    def unsaved(self) -> SampleBatch | None:
        """Held samples not yet on disk, oldest first (None if there are none); call
        `mark_saved` once they are written."""
        first = max(self.saved, self.written - len(self))
        if first >= self.written:
            return None
        return self._gather(np.arange(first, self.written) % self.cfg.capacity)

    def evicted_unsaved(self) -> int:
        """Samples that left the window before `mark_saved` covered them (never on disk)."""
        return max(0, self.written - len(self) - self.saved)

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
