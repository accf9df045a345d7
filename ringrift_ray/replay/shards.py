"""Replay data on disk: Parquet shards of samples (NPZ export: ``npz_export.py``).

A shard holds one Arrow table of the sample schema (``sample_schema.py``: one row per
sample, board and player count in the schema metadata).

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
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ringrift_ray import storage
from ringrift_ray.replay.schema import batch_to_table, table_to_batch
from ringrift_ray.samples import SampleBatch, concat_batches

log = logging.getLogger(__name__)

QUARANTINE_DIR = "quarantine"  # bad shards, moved aside by `quarantine_shard`
_SHARD_NAME = re.compile(r"^(?P<board>[^_]+)_(?P<players>\d+)p_.+\.parquet$")
_counter = itertools.count()


def shard_stem() -> str:
    """A fresh shard name part ``<UTC time stamp with nanoseconds>_<pid>_<counter>``: names
    sort in write order (`Buffer.restore` keeps the newest by name)."""
    ns = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(ns // 10**9))
    return f"{stamp}.{ns % 10**9:09d}_{os.getpid()}_{next(_counter):06d}"


def write_shard(batch: SampleBatch, directory: storage.Location, stem: str | None = None,
                metadata: dict[str, str] | None = None) -> Path | str:
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
        metadata: extra schema metadata (`newest_metadata` reads it back), e.g. the
            buffer's ``ledger``.

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
    if metadata:
        table = table.replace_schema_metadata(
            {**table.schema.metadata, **{k.encode(): v.encode() for k, v in metadata.items()}})
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


def count_rows(paths: list[Path | str]) -> int:
    """Samples in the Parquet shards ``paths`` (paths or URIs), read from their footers.

    Raises:
        OSError: a shard cannot be read; pyarrow's ``ArrowInvalid`` for a corrupt footer.
    """
    return sum(pq.read_metadata(path, filesystem=fs).num_rows
               for fs, path in map(storage.resolve, paths))


def read_shards(directory: storage.Location, board: str | None = None,
                players: int | None = None,
                on_error: Literal["raise", "skip"] = "raise",
                newest: int | None = None,
                on_shard: Callable[[int, int], None] | None = None) -> SampleBatch | None:
    """Read and concatenate the matching shards of ``directory`` (`list_shards` order).

    Args:
        on_error: ``"raise"`` the first bad shard's `ValueError`, or ``"skip"`` it: the
            bad shard is moved aside (`quarantine_shard`), a warning names it and its new
            path, and the samples of the other shards are kept.
        newest: read only the newest shards (by name) that together hold at least this
            many samples (all when None); they are still returned oldest first.
        on_shard: called as ``on_shard(samples, shards)`` after each shard is read or
            skipped (``shards``: how many match; a progress bar).

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
    newest_first, held, paths = [], 0, list_shards(directory, board, players)
    for path in reversed(paths):
        if newest is not None and held >= newest:
            break
        try:
            batch = _read_named_shard(path)
        except (ValueError, FileNotFoundError) as e:
            if on_error == "raise":
                raise
            _set_aside(path, e)
            batch = None
        if batch is not None:
            newest_first.append(batch)
            held += len(batch)
        if on_shard is not None:
            on_shard(0 if batch is None else len(batch), len(paths))
    return concat_batches(newest_first[::-1]) if newest_first else None


def newest_metadata(directory: storage.Location, board: str, players: int, key: str
                    ) -> str | None:
    """The schema metadata ``key`` (`write_shard`'s ``metadata``) of the newest shard of a
    configuration that has it, None if none has (or no directory). Reads footers only; a
    footer that fails to read is skipped (`read_shards` quarantines such shards)."""
    if not storage.is_dir(directory):
        return None
    for path in reversed(list_shards(directory, board, players)):
        fs, where = storage.resolve(path)
        try:
            meta = pq.read_schema(where, filesystem=fs).metadata or {}
        except (pa.ArrowException, OSError):
            continue
        if key.encode() in meta:
            return meta[key.encode()].decode()
    return None


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
