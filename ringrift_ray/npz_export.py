"""NPZ export of replay shards in the reference (seed) layout.

The only replay data written with pickle: the per-sample sparse policies are NPZ object
arrays, the layout the reference tooling reads (``np.load(path, allow_pickle=True)``). Load
such files only from sources you trust; Parquet shards (``replay.py``) never use pickle.

Legend: ``N`` samples, ``G`` grid side (``encoding.py``).
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np

from ringrift_ray.encoding import expand
from ringrift_ray.replay import read_shards
from ringrift_ray.samples import SampleBatch

PER_CELL_PLANES = 20  # planes 0..19 of `encoding.expand`; 20..42 are broadcast scalars


def export_npz(batch: SampleBatch, path: str | os.PathLike, chunk: int = 4096) -> None:
    """Write a batch as a compressed NPZ in the seed layout.

    Arrays:

    - ``features`` float32 ``[N, 20, G, G]``: per-cell planes 0..19 of `encoding.expand`
      (valid cell, stacks, heights, buried rings, markers, territory, moving stack).
    - ``globals`` float32 ``[N, 23]``: the broadcast planes 20..42 as one value each.
    - ``values`` float32 ``[N]``: value target of the player to move (seat 0), in [-1, 1].
    - ``policy_indices`` object ``[N]`` of int32 arrays and ``policy_values`` object ``[N]``
      of float32 arrays: each sample's sparse improved policy.

    The file is written at ``path`` exactly (no extension added). The object arrays are
    pickled, so read it back with ``np.load(path, allow_pickle=True)``.
    ``features`` is built ``chunk`` samples at a time (the full 43-plane tensor is never
    held for the whole batch).
    """
    n = len(batch)
    features = np.concatenate([
        expand(batch.board, batch.cells[s:s + chunk], batch.scalars[s:s + chunk])
        [:, :PER_CELL_PLANES].copy()
        for s in range(0, max(n, 1), chunk)])
    policy_indices = np.empty(n, dtype=object)
    policy_values = np.empty(n, dtype=object)
    for i in range(n):
        idx, val = batch.policy(i)
        policy_indices[i], policy_values[i] = idx.astype(np.int32), val.astype(np.float32)
    with open(path, "wb") as f:  # an open file: numpy appends no ".npz" to the name
        np.savez_compressed(
            f, features=features, globals=batch.scalars.astype(np.float32),
            values=batch.values[:, 0].astype(np.float32),
            policy_indices=policy_indices, policy_values=policy_values)


def export_directory(shard_dir: str | os.PathLike, out_path: str | os.PathLike, board: str,
                     players: int, on_error: Literal["raise", "skip"] = "raise") -> int:
    """Export every ``board``/``players`` shard of ``shard_dir`` to one NPZ (`export_npz`).

    Returns:
        The number of samples written.

    Raises:
        FileNotFoundError: ``shard_dir`` is missing.
        ValueError: no shard matches, or a bad shard (with ``on_error="raise"``; with
            ``"skip"`` it is moved into ``quarantine/``, `replay.read_shards`).
    """
    batch = read_shards(shard_dir, board, players, on_error=on_error)
    if batch is None:
        raise ValueError(f"no readable {board}_{players}p_*.parquet shard in {shard_dir}")
    export_npz(batch, out_path)
    return len(batch)
