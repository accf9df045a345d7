"""Replay data on disk: the Arrow sample schema and Parquet shards (NPZ export: ``npz_export.py``).

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

Shards are zstd Parquet files named ``<board>_<players>p_<rest>.parquet`` (board names hold
no underscore, so the name alone says the configuration). They are written to a hidden
temporary file and hard-linked into place, so a shard under its final name is always
complete and an existing shard is never overwritten. A shard directory may also be a URI
(``s3://``, ``gs://``, ``file://``; `ringrift_ray.storage`): on an object store the shard is
uploaded straight to a free name (an object appears only once complete). Each data page
carries a CRC-32, verified on read: a flipped bit is an error, not a silently changed sample
(shards written without checksums still read).
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ringrift_ray import storage
from ringrift_ray.encoding import COMPACT_FEATURES, COMPACT_SCALARS, ENCODING_VERSION
from ringrift_ray.game.geometry import BOARD_TYPES, board
from ringrift_ray.samples import SEATS, SampleBatch, concat_batches

log = logging.getLogger(__name__)

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
QUARANTINE_DIR = "quarantine"  # bad shards, moved aside by `quarantine_shard`
_SHARD_NAME = re.compile(r"^(?P<board>[^_]+)_(?P<players>\d+)p_.+\.parquet$")
_counter = itertools.count()


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


def shard_stem() -> str:
    """A fresh shard name part ``<UTC time stamp with nanoseconds>_<pid>_<counter>``: names
    sort in write order (`ReplayStore.restore` keeps the newest by name)."""
    ns = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(ns // 10**9))
    return f"{stamp}.{ns % 10**9:09d}_{os.getpid()}_{next(_counter):06d}"


def write_shard(batch: SampleBatch, directory: storage.Location, stem: str | None = None
                ) -> Path | str:
    """Write a batch as a new zstd Parquet shard; atomic and never overwriting.

    The shard is ``<board>_<players>p_<stem>.parquet`` where ``stem`` defaults to
    `shard_stem` (names sort in write order); if
    that name is taken, ``_1``, ``_2``, ... is appended. The data goes to a hidden temporary
    file in ``directory`` (fsynced) that is hard-linked to the final name, so readers never
    see a partial shard; on an object store it is uploaded to the first free name.

    Args:
        batch: the samples (may be empty).
        directory: created if missing; a path or a URI (`ringrift_ray.storage`).
        stem: optional name part after the ``<board>_<players>p_`` prefix.

    Returns:
        The new shard (a `Path`, or a URI string for a URI ``directory``).

    Raises:
        ValueError: an inconsistent batch (`batch_to_table`), or a ``stem`` that is not a
            plain file name part.
        OSError: the write failed (no file is left under any shard name).
    """
    base = f"{batch.board}_{batch.players}p_{stem or shard_stem()}"
    if not _SHARD_NAME.match(base + ".parquet") or Path(base).name != base:
        raise ValueError(f"bad shard name {base!r}: a board without '_', a stem without '/'")
    table = batch_to_table(batch)
    fs, folder = storage.resolve(directory)
    if isinstance(fs, pafs.LocalFileSystem):
        name = _write_local(table, Path(folder), base).name
    else:
        name = _upload(table, directory, base)
    return storage.join(directory, name)


def _upload(table: pa.Table, directory: storage.Location, base: str) -> str:
    """Upload ``table`` to the first free name ``base[_k].parquet`` of an object store
    folder; returns the name."""
    for k in itertools.count():
        name = f"{base}.parquet" if k == 0 else f"{base}_{k}.parquet"
        if not storage.exists(storage.join(directory, name)):
            break
    out = pa.BufferOutputStream()
    pq.write_table(table, out, compression="zstd", write_page_checksum=True)
    storage.write_bytes(storage.join(directory, name), out.getvalue().to_pybytes())
    return name


def _write_local(table: pa.Table, directory: Path, base: str) -> Path:
    """Write ``table`` to a hidden temporary file of ``directory`` (fsynced), then
    hard-link it to a free name (`_publish`)."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{base}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as f:
            pq.write_table(table, f, compression="zstd", write_page_checksum=True)
            f.flush()
            os.fsync(f.fileno())
        return _publish(tmp, directory, base)
    finally:
        tmp.unlink(missing_ok=True)


def _publish(tmp: Path, directory: Path, base: str) -> Path:
    """Hard-link ``tmp`` to the first free name ``base[_k].parquet`` (link never overwrites)."""
    for k in itertools.count():
        path = directory / (f"{base}.parquet" if k == 0 else f"{base}_{k}.parquet")
        try:
            os.link(tmp, path)
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links: check, then rename
            if path.exists():
                continue
            os.rename(tmp, path)
        return path
    raise AssertionError("unreachable")


def read_shard(path: storage.Location) -> SampleBatch:
    """Read one shard written by `write_shard`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: (message naming the file) a corrupt (page checksum mismatch) or
            truncated file, a foreign schema, or an encoding / format version mismatch.
    """
    fs, where = storage.resolve(path)
    if fs.get_file_info(where).type != pafs.FileType.File:
        raise FileNotFoundError(f"no shard {path}")
    try:
        with fs.open_input_file(where) as f:
            table = pq.read_table(f, page_checksum_verification=True)
    except (pa.ArrowException, OSError) as e:
        raise ValueError(f"{path}: corrupt or truncated Parquet shard: {e}") from e
    try:
        return table_to_batch(table)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from e


def list_shards(directory: storage.Location, board: str | None = None,
                players: int | None = None) -> list[Path | str]:
    """Shards in ``directory`` (not recursive), sorted by name, filtered by their names:
    `Path` objects, or URI strings for a URI ``directory``.

    Temporary files of writes in progress are never listed.

    Raises:
        FileNotFoundError: ``directory`` is not a directory.
    """
    if not storage.is_dir(directory):
        raise FileNotFoundError(f"no shard directory {directory}")
    shards = []
    for name in storage.list_files(directory):
        m = _SHARD_NAME.match(name)
        if m is None:
            continue
        if board is not None and m["board"] != board:
            continue
        if players is not None and int(m["players"]) != players:
            continue
        shards.append(storage.join(directory, name))
    return shards


def read_shards(directory: storage.Location, board: str | None = None,
                players: int | None = None,
                on_error: Literal["raise", "skip"] = "raise",
                newest: int | None = None) -> SampleBatch | None:
    """Read and concatenate the matching shards of ``directory`` (`list_shards` order).

    Args:
        on_error: ``"raise"`` the first bad shard's `ValueError`, or ``"skip"`` it: the
            bad shard is moved aside (`quarantine_shard`), a warning names it and its new
            path, and the samples of the other shards are kept.
        newest: read only the newest shards (by name) that together hold at least this
            many samples (all when None); they are still returned oldest first.

    Returns:
        One batch, or None when no (good) shard matches.

    Raises:
        FileNotFoundError: ``directory`` is missing (or, with ``"raise"``, a listed shard
            vanished before it was read).
        ValueError: a bad shard (with ``on_error="raise"``; the message names it), or shards
            of several configurations (pass ``board`` and ``players``).
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    newest_first, held = [], 0
    for path in reversed(list_shards(directory, board, players)):
        if newest is not None and held >= newest:
            break
        try:
            batch = _read_named_shard(path)
        except (ValueError, FileNotFoundError) as e:
            if on_error == "raise":
                raise
            _set_aside(path, e)
            continue
        newest_first.append(batch)
        held += len(batch)
    return concat_batches(newest_first[::-1]) if newest_first else None


def _set_aside(path: Path | str, error: Exception) -> None:
    """Log a skipped shard and quarantine it; a failed move is logged, never raised."""
    if isinstance(error, FileNotFoundError):  # gone since it was listed (another reader)
        log.warning("skipping shard %s: %s", path, error)
        return
    try:
        moved = quarantine_shard(path)
    except OSError as e:
        log.warning("skipping bad shard %s (could not move it aside: %s): %s", path, e, error)
        return
    log.warning("skipping bad shard %s, moved to %s: %s", path, moved, error)


def quarantine_shard(path: storage.Location) -> Path | str:
    """Move a bad shard into ``quarantine/`` next to it (never deleted, never overwriting:
    a taken name gets ``_1``, ``_2``, ...). Quarantined shards are no longer listed.

    Returns:
        The shard's new path (a URI string for a URI ``path``).

    Raises:
        OSError: the move failed (the shard stays where it was).
    """
    parent, name = storage.split(path)
    fs, where = storage.resolve(path)
    if isinstance(fs, pafs.LocalFileSystem):
        local = Path(where)
        folder = local.parent / QUARANTINE_DIR
        folder.mkdir(exist_ok=True)
        moved = _publish(local, folder, name.removesuffix(".parquet")).name
        local.unlink(missing_ok=True)  # linked (not renamed): drop the old name
        return storage.join(parent, QUARANTINE_DIR, moved)
    base = name.removesuffix(".parquet")
    for k in itertools.count():
        moved = storage.join(parent, QUARANTINE_DIR,
                             f"{base}.parquet" if k == 0 else f"{base}_{k}.parquet")
        if not storage.exists(moved):
            storage.move(path, moved)
            return moved
    raise AssertionError("unreachable")


def _read_named_shard(path: Path | str) -> SampleBatch:
    """`read_shard`, checking that the samples are of the configuration the name says."""
    batch = read_shard(path)
    name = _SHARD_NAME.match(storage.basename(path))
    if (batch.board, batch.players) != (name["board"], int(name["players"])):
        raise ValueError(f"{path}: holds {batch.board}/{batch.players}p samples, "
                         "its name says otherwise")
    return batch
