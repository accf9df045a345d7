"""The Arrow sample schema: one row per sample, and `SampleBatch` <-> Arrow table.

Legend: ``N`` samples, ``T`` policy entries of all samples, ``n`` cells of the board.

One Arrow row per sample (`SAMPLE_SCHEMA`); the fields mean what `samples.py` says:

| column                 | Arrow type                   |
|------------------------|------------------------------|
| cells                  | list<uint8> of ``10 * n``    |
| scalars                | fixed_size_list<float16>[23] |
| policy_indices         | list<int32>                  |
| policy_values          | list<float32>                |
| values                 | fixed_size_list<float32>[4]  |
| to_move, ply           | int8, int32                  |
| game_id, model_version | int64, int32                 |

A cells row is the sample's ``[10, n]`` block in row-major order. The policy columns' list
offsets are ``policy_offsets``.

Schema metadata (bytes keys and values): ``board``, ``players``, ``num_cells`` (``n``),
``encoding_version`` (`encoding.ENCODING_VERSION`) and ``format_version``
(`FORMAT_VERSION`). A table's rows all belong to one (board, players) configuration.
Tables are stored as Parquet shards by ``replay.py``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ringrift_ray.encoding import COMPACT_FEATURES, COMPACT_SCALARS, ENCODING_VERSION
from ringrift_ray.game import BOARD_TYPES, board
from ringrift_ray.samples import SEATS, SampleBatch

FORMAT_VERSION = 1
SAMPLE_SCHEMA = pa.schema(
    [
        pa.field("cells", pa.list_(pa.uint8()), nullable=False),
        pa.field("scalars", pa.list_(pa.float16(), COMPACT_SCALARS), nullable=False),
        pa.field("policy_indices", pa.list_(pa.int32()), nullable=False),
        pa.field("policy_values", pa.list_(pa.float32()), nullable=False),
        pa.field("values", pa.list_(pa.float32(), SEATS), nullable=False),
        pa.field("to_move", pa.int8(), nullable=False),
        pa.field("ply", pa.int32(), nullable=False),
        pa.field("game_id", pa.int64(), nullable=False),
        pa.field("model_version", pa.int32(), nullable=False),
    ],
    metadata={"format_version": str(FORMAT_VERSION),
              "encoding_version": str(ENCODING_VERSION)},
)


def batch_to_table(batch: SampleBatch) -> pa.Table:
    """Arrow table of a batch: one row per sample, `SAMPLE_SCHEMA` plus board metadata.

    Zero-copy where numpy and Arrow layouts agree (the flat value buffers).

    Raises:
        ValueError: arrays of inconsistent lengths or policy offsets that do not start at 0
            and end at ``T``.
    """
    n = len(batch)
    cells = np.ascontiguousarray(batch.cells, dtype=np.uint8)
    if cells.ndim != 3 or cells.shape[:2] != (n, COMPACT_FEATURES):
        raise ValueError(f"cells must be uint8 [N={n}, {COMPACT_FEATURES}, n], got {cells.shape}")
    offsets = np.asarray(batch.policy_offsets, dtype=np.int64)
    total = len(batch.policy_indices)
    if (offsets.shape != (n + 1,) or offsets[0] != 0 or offsets[-1] != total
            or len(batch.policy_values) != total or np.any(np.diff(offsets) < 0)):
        raise ValueError(f"policy_offsets must rise from 0 to T={total} over N+1={n + 1} entries")
    if total > np.iinfo(np.int32).max:
        raise ValueError(f"{total} policy entries exceed one Arrow list column; split the batch")
    num_cells = cells.shape[2]
    row_len = COMPACT_FEATURES * num_cells
    cell_offsets = pa.array(np.arange(n + 1, dtype=np.int32) * row_len)
    pol_offsets = pa.array(offsets.astype(np.int32))
    columns = [
        pa.ListArray.from_arrays(cell_offsets, pa.array(cells.reshape(-1))),
        pa.FixedSizeListArray.from_arrays(
            pa.array(np.ascontiguousarray(batch.scalars, dtype=np.float16).reshape(-1)),
            COMPACT_SCALARS),
        pa.ListArray.from_arrays(pol_offsets, pa.array(batch.policy_indices.astype(np.int32))),
        pa.ListArray.from_arrays(pol_offsets, pa.array(batch.policy_values.astype(np.float32))),
        pa.FixedSizeListArray.from_arrays(
            pa.array(np.ascontiguousarray(batch.values, dtype=np.float32).reshape(-1)), SEATS),
        pa.array(batch.to_move.astype(np.int8)),
        pa.array(batch.ply.astype(np.int32)),
        pa.array(batch.game_id.astype(np.int64)),
        pa.array(batch.model_version.astype(np.int32)),
    ]
    if any(len(c) != n for c in columns):
        raise ValueError(f"columns of different lengths: {[len(c) for c in columns]}")
    metadata = {**SAMPLE_SCHEMA.metadata, b"board": batch.board.encode(),
                b"players": str(batch.players).encode(), b"num_cells": str(num_cells).encode()}
    return pa.Table.from_arrays(columns, schema=SAMPLE_SCHEMA.with_metadata(metadata))


def table_to_batch(table: pa.Table) -> SampleBatch:
    """The `SampleBatch` of a `batch_to_table` table (exact round trip, vectorized).

    Raises:
        ValueError: a foreign schema (column names or types), missing or unsupported
            metadata, an encoding version other than `encoding.ENCODING_VERSION`, null
            entries, or rows of the wrong length.
    """
    meta = _check_schema(table.schema)
    n, num_cells = table.num_rows, meta["num_cells"]
    table = table.combine_chunks()
    col = {name: _single_chunk(table.column(name)) for name in SAMPLE_SCHEMA.names}
    if any(c.null_count for c in col.values()):
        raise ValueError("null entries in sample columns")
    cell_offsets = _list_offsets(col["cells"])
    if np.any(np.diff(cell_offsets) != COMPACT_FEATURES * num_cells):
        raise ValueError(f"cells rows must hold {COMPACT_FEATURES} x {num_cells} values")
    offsets = _list_offsets(col["policy_indices"])
    if not np.array_equal(offsets, _list_offsets(col["policy_values"])):
        raise ValueError("policy_indices and policy_values rows differ in length")
    return SampleBatch(
        board=meta["board"], players=meta["players"],
        cells=_flat(col["cells"]).reshape(n, COMPACT_FEATURES, num_cells),
        scalars=_flat(col["scalars"]).reshape(n, COMPACT_SCALARS),
        policy_offsets=offsets,
        policy_indices=_flat(col["policy_indices"]),
        policy_values=_flat(col["policy_values"]),
        values=_flat(col["values"]).reshape(n, SEATS),
        to_move=_flat(col["to_move"]), ply=_flat(col["ply"]),
        game_id=_flat(col["game_id"]), model_version=_flat(col["model_version"]),
    )


def _check_schema(schema: pa.Schema) -> dict:
    if schema.names != SAMPLE_SCHEMA.names:
        raise ValueError(f"foreign schema: columns {schema.names}, expected {SAMPLE_SCHEMA.names}")
    for want in SAMPLE_SCHEMA:
        got = schema.field(want.name).type
        if got != want.type:
            raise ValueError(f"foreign schema: column {want.name} is {got}, expected {want.type}")
    meta = {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}
    missing = {"board", "players", "num_cells", "encoding_version", "format_version"} - set(meta)
    if missing:
        raise ValueError(f"schema metadata lacks {sorted(missing)}")
    if meta["format_version"] != str(FORMAT_VERSION):
        raise ValueError(f"format version {meta['format_version']}, this code reads "
                         f"{FORMAT_VERSION}")
    if meta["encoding_version"] != str(ENCODING_VERSION):
        raise ValueError(f"encoding version {meta['encoding_version']}, this code uses "
                         f"{ENCODING_VERSION}; re-generate the samples")
    config = (meta["board"], meta["players"], meta["num_cells"])
    if (config[0] not in BOARD_TYPES or config[1] not in ("2", "3", "4")
            or config[2] != str(board(config[0]).num_cells)):
        raise ValueError(f"schema metadata: board {config[0]!r}, players {config[1]!r}, "
                         f"num_cells {config[2]!r} is not a known configuration")
    return {"board": config[0], "players": int(config[1]), "num_cells": int(config[2])}


def _single_chunk(column: pa.ChunkedArray) -> pa.Array:
    if column.num_chunks == 0:
        return pa.array([], type=column.type)
    assert column.num_chunks == 1, "combine_chunks() leaves one chunk"
    return column.chunk(0)


def _list_offsets(arr: pa.ListArray) -> np.ndarray:
    """int64 [N + 1] offsets of a list array, rebased to 0 (slices keep parent offsets)."""
    offsets = arr.offsets.to_numpy().astype(np.int64)
    return offsets - offsets[0]


def _flat(arr: pa.Array) -> np.ndarray:
    """Writable numpy copy of an array's (flattened) values."""
    if pa.types.is_list(arr.type) or pa.types.is_fixed_size_list(arr.type):
        arr = arr.flatten()
    return arr.to_numpy(zero_copy_only=False).copy()
