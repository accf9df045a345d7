"""NPZ export of replay shards in the reference (seed) layout.

The only replay data written with pickle: the per-sample sparse policies are NPZ object
arrays, the layout the reference tooling reads (``np.load(path, allow_pickle=True)``). Load
such files only from sources you trust; Parquet shards (``replay.py``) never use pickle.

Legend: ``N`` samples, ``G`` grid side, ``A`` actions of the board (``encoding.py``).
`NPZ_LAYOUT` names every array with its dtype, shape and meaning; the file carries it
in its ``metadata`` array (a JSON string, readable without pickle).

``values[i] == values_mp[i, to_move[i] - 1]``. The planes are seat-relative (seat 0 = the
player to move, `encoding.py`); ``values_mp`` is not (columns are players 1..4). The policy
indices are ringrift-ray's action encoding (``encoding.py``, version
`encoding.ENCODING_VERSION`, ``A = encoding.num_actions(board)`` entries), not the
reference's; ``metadata`` says so with ``A``, so a reader can refuse a mismatch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Literal

import numpy as np

from ringrift_ray.encoding import ENCODING_VERSION, expand, num_actions
from ringrift_ray.replay.shards import read_shards
from ringrift_ray.samples import SEATS, SampleBatch

PER_CELL_PLANES = 20  # planes 0..19 of `encoding.expand`; 20..42 are broadcast scalars
NPZ_FORMAT_VERSION = 2  # 2: values_mp, num_players, move_numbers, to_move, metadata
NPZ_LAYOUT = {
    "features": "float32 [N, 20, G, G]: per-cell planes 0..19 of ringrift_ray.encoding "
                "(seat-relative: seat 0 = the player to move)",
    "globals": "float32 [N, 23]: the broadcast planes 20..42 of ringrift_ray.encoding, "
               "one value each",
    "values": "float32 [N]: value target of the player to move, in [-1, 1]",
    "values_mp": "float32 [N, 4]: value target of player p in column p - 1 (seat order "
                 "1..4), in [-1, 1]; columns of absent seats (>= players) are 0",
    "num_players": "int32 [N]: players of the sample's game (2..4)",
    "move_numbers": "int32 [N]: moves applied in the game before the sample",
    "to_move": "int8 [N]: player to move, 1..players",
    "policy_indices": "object [N] of int32 [k]: sparse improved-policy target, action "
                      "indices of the ringrift-ray encoding (policy_encoding)",
    "policy_values": "object [N] of float32 [k]: their probabilities (summing to 1)",
    "metadata": "str, 0-d: this JSON (board, players, layout, encodings)",
}


def export_npz(batch: SampleBatch, path: str | os.PathLike, chunk: int = 4096) -> None:
    """Write a batch as a compressed NPZ in the reference layout (arrays: `NPZ_LAYOUT`).

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
            values=batch.values[:, 0].astype(np.float32), values_mp=values_by_player(batch),
            num_players=np.full(n, batch.players, dtype=np.int32),
            move_numbers=batch.ply.astype(np.int32), to_move=batch.to_move.astype(np.int8),
            policy_indices=policy_indices, policy_values=policy_values,
            metadata=np.array(json.dumps(npz_metadata(batch.board, batch.players))))


def values_by_player(batch: SampleBatch) -> np.ndarray:
    """`[N, 4]` float32 value targets by player (column p - 1) from the batch's seat-relative
    ``values`` (seat k = the k-th player after the one to move); columns >= players are 0."""
    p = batch.players
    out = np.zeros((len(batch), SEATS), dtype=np.float32)
    rows = np.arange(len(batch))
    for k in range(p):
        out[rows, (batch.to_move.astype(np.int64) - 1 + k) % p] = batch.values[:, k]
    return out


def npz_metadata(board: str, players: int) -> dict:
    """The ``metadata`` JSON of an export: configuration, array table, encodings."""
    return {
        "format": "ringrift-ray-npz", "format_version": NPZ_FORMAT_VERSION,
        "board": board, "players": players, "arrays": NPZ_LAYOUT,
        "policy_encoding": {"name": "ringrift-ray", "version": ENCODING_VERSION,
                            "size": num_actions(board),
                            "doc": "ringrift_ray/encoding.py (A = K * G * G + 10 actions)"},
    }


def export_directory(shard_dir: str | os.PathLike, out_path: str | os.PathLike, board: str,
                     players: int, on_error: Literal["raise", "skip"] = "raise",
                     on_shard: Callable[[int, int], None] | None = None) -> int:
    """Export every ``board``/``players`` shard of ``shard_dir`` to one NPZ (`export_npz`);
    ``on_shard(samples, shards)`` follows the reading (`replay.read_shards`).

    Returns:
        The number of samples written.

    Raises:
        FileNotFoundError: ``shard_dir`` is missing.
        ValueError: no shard matches, or a bad shard (with ``on_error="raise"``; with
            ``"skip"`` it is moved into ``quarantine/``, `replay.read_shards`).
    """
    batch = read_shards(shard_dir, board, players, on_error=on_error, on_shard=on_shard)
    if batch is None:
        raise ValueError(f"no readable {board}_{players}p_*.parquet shard in {shard_dir}")
    export_npz(batch, out_path)
    return len(batch)
