"""The sample contract: what selfplay produces and the buffer, the trainer, the replay
files and the exports read (no Ray, no search).

Legend: ``N`` samples, ``T`` policy entries of all samples, ``n`` cells of the board.

`SampleBatch` is columnar numpy, one configuration (board, players) per batch:

| field            | dtype / shape        | meaning                                             |
|------------------|----------------------|-----------------------------------------------------|
| cells, scalars   | uint8 [N, 10, n], float16 [N, 23] | compact state (``encoding.compact``)   |
| policy_offsets   | int64 [N + 1]        | sample i's entries: ``offsets[i]:offsets[i+1]``     |
| policy_indices   | int32 [T]            | action indices (``encoding.py``)                    |
| policy_values    | float32 [T]          | improved-policy probabilities (top-k, renormalized) |
| values           | float32 [N, 4]       | value target per seat in [-1, 1] (seat 0 = player   |
|                  |                      | to move; seats beyond the player count are 0)       |
| to_move, ply     | int8 [N], int32 [N]  | player to move (1..P); moves applied before it      |
| game_id          | int64 [N]            | the game the sample comes from                      |
| model_version    | int32 [N]            | version (train step) of the weights that played it  |

``SEATS`` (4) is the fixed width of ``values``. The Parquet schema (``replay.py``) and the
buffer's padded layout (``buffer.py``) mirror this table; they do not redefine it.

Policy lag (`policy_lag`) has one meaning everywhere: the newest model version minus the
mean ``model_version`` of the samples being trained on, in versions (train steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEATS = 4
ARRAY_FIELDS = ("cells", "scalars", "policy_offsets", "policy_indices", "policy_values",
                "values", "to_move", "ply", "game_id", "model_version")
ROW_FIELDS = ("cells", "scalars", "values", "to_move", "ply", "game_id", "model_version")
"""The fields with one row per sample (all but the ragged policy columns)."""


@dataclass
class SampleBatch:
    """Training samples of one (board, players) configuration; see the module table."""

    board: str
    players: int
    cells: np.ndarray  # [N, 10, n] uint8
    scalars: np.ndarray  # [N, 23] float16
    policy_offsets: np.ndarray  # [N + 1] int64
    policy_indices: np.ndarray  # [T] int32
    policy_values: np.ndarray  # [T] float32
    values: np.ndarray  # [N, SEATS] float32
    to_move: np.ndarray  # [N] int8
    ply: np.ndarray  # [N] int32
    game_id: np.ndarray  # [N] int64
    model_version: np.ndarray  # [N] int32

    def __len__(self) -> int:
        return len(self.values)

    def nbytes(self) -> int:
        return sum(getattr(self, f).nbytes for f in ARRAY_FIELDS)

    def policy(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Sample ``i``'s policy target: ``(indices [k] int32, probabilities [k] float32)``."""
        s, e = self.policy_offsets[i], self.policy_offsets[i + 1]
        return self.policy_indices[s:e], self.policy_values[s:e]


def concat_batches(batches: list[SampleBatch]) -> SampleBatch:
    """Concatenate batches of one configuration (policy offsets are rebased).

    Raises:
        ValueError: empty list or batches of different boards / player counts.
    """
    if not batches:
        raise ValueError("concat_batches() needs at least one batch")
    b0 = batches[0]
    for b in batches:
        if (b.board, b.players) != (b0.board, b0.players):
            raise ValueError(f"cannot mix {b0.board}/{b0.players}p with {b.board}/{b.players}p")
    offsets, base = [np.zeros(1, dtype=np.int64)], 0
    for b in batches:
        offsets.append(b.policy_offsets[1:] + base)
        base += int(b.policy_offsets[-1])
    cat = {f: np.concatenate([getattr(b, f) for b in batches])
           for f in ARRAY_FIELDS if f != "policy_offsets"}
    return SampleBatch(b0.board, b0.players, policy_offsets=np.concatenate(offsets), **cat)


def take(batch: SampleBatch, rows: np.ndarray) -> SampleBatch:
    """The samples ``rows`` `[k]` of ``batch``, in that order (policy offsets rebuilt)."""
    rows = np.asarray(rows, dtype=np.int64)
    starts, ends = batch.policy_offsets[rows], batch.policy_offsets[rows + 1]
    lengths = ends - starts
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    entry = (np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])).astype(np.int64)
    return SampleBatch(batch.board, batch.players, policy_offsets=offsets,
                       policy_indices=batch.policy_indices[entry],
                       policy_values=batch.policy_values[entry],
                       **{f: getattr(batch, f)[rows] for f in ROW_FIELDS})


def policy_lag(newest_version: int, sampled_versions: np.ndarray | SampleBatch | float
               ) -> float:
    """Versions (train steps) between ``newest_version`` and the mean model version of the
    samples trained on (a batch, its ``model_version`` array, or that mean): how stale the
    policy that generated them is.

    Raises:
        ValueError: no samples.
    """
    if isinstance(sampled_versions, SampleBatch):
        sampled_versions = sampled_versions.model_version
    versions = np.asarray(sampled_versions, dtype=np.float64)
    if versions.size == 0:
        raise ValueError("policy_lag of no samples")
    return float(newest_version - versions.mean())
