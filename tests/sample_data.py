"""Synthetic `SampleBatch`es with the real dtypes and shapes (no games played)."""

from __future__ import annotations

import numpy as np

from ringrift_ray.samples import SampleBatch

CELLS = {"square8": 64, "square19": 361, "hex8": 61, "hexagonal": 469}


def make_batch(n: int, board: str = "square8", players: int = 2, *, first_id: int = 0,
               version: int = 0, max_entries: int = 32, seed: int = 0) -> SampleBatch:
    """``n`` random samples; ``game_id`` is ``first_id + row`` so each row is findable."""
    rng = np.random.default_rng(seed)
    lens = rng.integers(1, max_entries + 1, n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    total = int(offsets[-1])
    return SampleBatch(
        board=board, players=players,
        cells=rng.integers(0, 256, (n, 10, CELLS[board]), dtype=np.uint8),
        scalars=rng.random((n, 23)).astype(np.float16),
        policy_offsets=offsets,
        policy_indices=rng.integers(0, 5000, total, dtype=np.int32),
        policy_values=rng.random(total, dtype=np.float32),
        values=rng.uniform(-1, 1, (n, 4)).astype(np.float32),
        to_move=rng.integers(1, players + 1, n, dtype=np.int8),
        ply=rng.integers(0, 500, n, dtype=np.int32),
        game_id=np.arange(first_id, first_id + n, dtype=np.int64),
        model_version=np.full(n, version, dtype=np.int32))


def assert_rows_match(sampled: SampleBatch, originals: list[SampleBatch]) -> None:
    """Every sampled row equals (exactly, policy included) the original with its game_id."""
    where = {}
    for b in originals:
        for i, gid in enumerate(b.game_id):
            where[int(gid)] = (b, i)
    for i, gid in enumerate(sampled.game_id):
        b, j = where[int(gid)]
        for f in ("cells", "scalars", "values", "to_move", "ply", "model_version"):
            np.testing.assert_array_equal(getattr(sampled, f)[i], getattr(b, f)[j])
        for got, want in zip(sampled.policy(i), b.policy(j), strict=True):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
