"""Where a run's files live: a local directory or a URI, through `pyarrow.fs`.

A *location* is a plain path (``runs/square8_2p``, ``/data/run``) or a URI (``s3://bucket/
run``, ``gs://bucket/run``, ``file:///data/run``, any scheme ``pyarrow.fs.FileSystem.
from_uri`` knows), resolved the way Ray Train resolves its ``storage_path``. Every function
takes a location; a path in gives `Path` objects out (local runs behave as before), a URI in
gives URI strings out (`join` keeps the URI's query, e.g. ``?endpoint_override=...``).

| function                         | does                                                   |
|----------------------------------|--------------------------------------------------------|
| `resolve`                        | location -> ``(pyarrow FileSystem, path in it)``        |
| `patient`                        | the same, an S3 client retrying through an outage      |
| `join`, `split`, `basename`      | path arithmetic that keeps the URI form                |
| `exists`, `is_file`, `is_dir`    | file info                                              |
| `is_local`                       | a plain path or ``file://`` (no upload needed)         |
| `list_files`                     | names of the files directly in a folder, sorted        |
| `read_bytes`, `read_text`        | whole-file reads                                       |
| `write_bytes`, `write_text`      | whole-file writes, never seen half-written (below)     |
| `copy`, `move`, `delete`, `makedirs` | the usual                                          |
| `upload_dir`                     | copy a local folder's new or grown files to a location |
| `staging_dir`                    | a local folder for files made locally, then uploaded   |
| `check_writable`                 | fail early, naming the location, if it cannot be used  |

Writes: on a local file system a temporary file in the same folder is renamed into place;
object stores (S3, GCS) have no rename, but an object appears only once its upload is
complete, so the write goes straight to its final name.

Credentials and endpoints are the store's own (pyarrow's): S3 reads ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` (or ``~/.aws``, or an instance profile), ``AWS_ENDPOINT_URL`` or the
URI's ``?endpoint_override=HOST:PORT&scheme=http`` for an S3-compatible server; GCS uses
Google's application default credentials.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import secrets
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.fs as pafs

Location = str | os.PathLike
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_LOCAL = pafs.LocalFileSystem()


def is_uri(location: Location) -> bool:
    """True for ``scheme://...``; False for a plain (relative or absolute) path."""
    return bool(_URI.match(os.fspath(location)))


@functools.lru_cache(maxsize=128)
def _from_uri(uri: str) -> tuple[pafs.FileSystem, str]:
    try:
        return pafs.FileSystem.from_uri(uri)
    except pa.ArrowInvalid as e:
        raise ValueError(f"{uri}: not a storage URI pyarrow.fs understands ({e})") from None
    except OSError as e:
        raise OSError(f"{uri}: cannot open its file system ({e})") from None


def resolve(location: Location) -> tuple[pafs.FileSystem, str]:
    """The file system of ``location`` and the path in it (absolute for local paths).

    File systems are cached per folder, so resolving the files of one folder builds one
    client.

    Raises:
        ValueError: a URI of a scheme pyarrow does not know, or a malformed one.
        OSError: the file system could not be set up (e.g. its client library failed).
    """
    loc = os.fspath(location)
    if not is_uri(loc):
        return _LOCAL, os.path.abspath(loc)
    parent, name = split(loc)
    if name and urlsplit(parent).path not in ("", "/"):
        fs, base = _from_uri(parent)
        return fs, f"{base.rstrip('/')}/{name}"
    return _from_uri(loc)


def patient(location: Location, outage_s: float) -> tuple[pafs.FileSystem, str]:
    """`resolve`, except that an S3 store's client retries a refused or failed request for
    about ``outage_s`` seconds (the AWS SDK's standard retry strategy, exponential backoff
    capped at 20 s: measured against moto's server, 10 attempts give up after ~73 s and 20
    after ~270 s, and a write through a 15 s outage succeeded). For writers that cannot
    retry themselves: Ray Train's controller fails the run on one failed write of its
    checkpoint state. Other file systems (local, GCS with its own client retries) are
    returned as `resolve` gives them; so is an S3 client whose options pyarrow does not
    expose (a pyarrow without ``S3FileSystem.__reduce__``'s keyword form).

    Raises:
        ValueError, OSError: as `resolve`.
    """
    fs, path = resolve(location)
    if not isinstance(fs, pafs.S3FileSystem):
        return fs, path
    attempts = 10 + math.ceil(max(0.0, outage_s - 70.0) / 20.0)
    try:
        return PatientS3FileSystem(max_attempts=attempts, **fs.__reduce__()[1][0]), path
    except (TypeError, IndexError, KeyError):  # another pyarrow's pickled form
        return fs, path


class PatientS3FileSystem(pafs.S3FileSystem):
    """pyarrow's S3 client with the AWS standard retry strategy of ``max_attempts``, which
    survives pickling (pyarrow's own pickled form drops the retry strategy, and Ray sends
    the file system to Ray Train's controller and workers pickled). `patient` makes it."""

    def __init__(self, *, max_attempts: int, **options):
        super().__init__(**options, retry_strategy=pafs.AwsStandardS3RetryStrategy(
            max_attempts=max_attempts))
        self.options, self.max_attempts = options, max_attempts

    def __reduce__(self):
        return _patient_s3, (self.options, self.max_attempts)


def _patient_s3(options: dict, max_attempts: int) -> PatientS3FileSystem:
    return PatientS3FileSystem(max_attempts=max_attempts, **options)


def join(location: Location, *parts: str) -> Path | str:
    """``location/part/...``: a `Path` for a path, a URI string (query kept) for a URI."""
    if not is_uri(location):
        return Path(location).joinpath(*parts)
    url = urlsplit(os.fspath(location))
    path = "/".join([url.path.rstrip("/"), *(p.strip("/") for p in parts)])
    return urlunsplit(url._replace(path=path))


def split(location: Location) -> tuple[Path | str, str]:
    """``(parent, name)`` of ``location`` in its own form (see `join`)."""
    if not is_uri(location):
        path = Path(location)
        return path.parent, path.name
    url = urlsplit(os.fspath(location))
    head, _, name = url.path.rstrip("/").rpartition("/")
    return urlunsplit(url._replace(path=head)), name


def is_local(location: Location) -> bool:
    """True for a plain path or a ``file://`` URI (the local file system)."""
    return isinstance(resolve(location)[0], pafs.LocalFileSystem)


def basename(location: Location) -> str:
    """The last component of ``location`` (``run`` of ``s3://bucket/run?...``)."""
    return split(location)[1]


def _type(location: Location) -> pafs.FileType:
    fs, path = resolve(location)
    return fs.get_file_info(path).type


def exists(location: Location) -> bool:
    """True if a file or folder is at ``location``.

    Raises:
        OSError: the store cannot be reached.
    """
    return _type(location) != pafs.FileType.NotFound


def is_file(location: Location) -> bool:
    """True if a file is at ``location``."""
    return _type(location) == pafs.FileType.File


def is_dir(location: Location) -> bool:
    """True if ``location`` is a folder (on an object store: a prefix holding objects)."""
    return _type(location) == pafs.FileType.Directory


def list_files(location: Location) -> list[str]:
    """Names of the files directly in folder ``location`` (no folders), sorted.

    Raises:
        FileNotFoundError: ``location`` is not a folder.
    """
    fs, path = resolve(location)
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        raise FileNotFoundError(f"no folder {location}")
    infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return sorted(i.base_name for i in infos if i.type == pafs.FileType.File)


def makedirs(location: Location) -> None:
    """Create folder ``location`` and its parents (no error if it exists)."""
    fs, path = resolve(location)
    fs.create_dir(path, recursive=True)


def read_bytes(location: Location) -> bytes:
    """The whole file.

    Raises:
        FileNotFoundError: no file at ``location``.
        OSError: the read failed.
    """
    fs, path = resolve(location)
    if fs.get_file_info(path).type != pafs.FileType.File:
        raise FileNotFoundError(f"no file {location}")
    with fs.open_input_stream(path) as f:
        return f.read()


def read_text(location: Location) -> str:
    """The whole file as UTF-8 text (see `read_bytes`; UnicodeDecodeError if not UTF-8)."""
    return read_bytes(location).decode("utf-8")


def write_bytes(location: Location, data: bytes) -> None:
    """Write a whole file, creating its folder; readers never see it half-written (local:
    a temporary name renamed into place; object stores: one upload).

    Raises:
        OSError: the write failed (no partial file is left under the name).
    """
    fs, path = resolve(location)
    parent = path.rpartition("/")[0]
    if parent:
        fs.create_dir(parent, recursive=True)
    if not isinstance(fs, pafs.LocalFileSystem):
        with fs.open_output_stream(path) as f:
            f.write(data)
        return
    tmp = f"{parent}/.{path.rpartition('/')[2]}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(location: Location, text: str) -> None:
    """`write_bytes` of UTF-8 text."""
    write_bytes(location, text.encode("utf-8"))


def copy(src: Location, dst: Location) -> None:
    """Copy one file (``dst`` is replaced as `write_bytes` does).

    Raises:
        FileNotFoundError: no file at ``src``.
        OSError: the copy failed.
    """
    write_bytes(dst, read_bytes(src))


def move(src: Location, dst: Location) -> None:
    """Move a file within one store (on object stores: copy, then delete).

    Raises:
        OSError: the move failed.
    """
    fs, src_path = resolve(src)
    _, dst_path = resolve(dst)
    parent = dst_path.rpartition("/")[0]
    if parent:
        fs.create_dir(parent, recursive=True)
    fs.move(src_path, dst_path)


def delete(location: Location) -> None:
    """Delete a file; no error if it is gone already."""
    fs, path = resolve(location)
    if fs.get_file_info(path).type == pafs.FileType.File:
        fs.delete_file(path)


def upload_dir(local_dir: str | os.PathLike, location: Location) -> int:
    """Copy the files of ``local_dir`` (recursively) that ``location`` lacks or holds at
    another size (growing logs such as TensorBoard event files); files only ``location``
    has are kept. Returns the number of files copied.

    Raises:
        OSError: listing or a copy failed.
    """
    fs, base = resolve(location)
    if isinstance(fs, pafs.LocalFileSystem) and Path(os.path.realpath(base)) == Path(
            local_dir).resolve():
        return 0  # a local run writes in place (`staging_dir`)
    fs.create_dir(base, recursive=True)
    there = {i.path[len(base):].lstrip("/"): i.size for i in
             fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
             if i.type == pafs.FileType.File}
    copied = 0
    root = Path(local_dir)
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        if there.get(rel) != file.stat().st_size:
            pafs.copy_files(str(file), f"{base}/{rel}", source_filesystem=_LOCAL,
                            destination_filesystem=fs)
            copied += 1
    return copied


def staging_dir(location: Location, name: str) -> Path:
    """A local folder for files that are made locally and belong under ``location``: for a
    ``location`` on the local file system, ``location/name`` itself; otherwise a folder
    under the system's temporary directory named after the URI (the same on every call;
    upload its files with `upload_dir`). Created if missing."""
    if not is_local(location):
        uri = os.fspath(location)
        slug = re.sub(r"[^A-Za-z0-9.-]+", "_", uri.split("?")[0])[-60:]
        digest = hashlib.sha256(uri.encode()).hexdigest()[:8]
        folder = Path(tempfile.gettempdir()) / "ringrift-ray" / f"{slug}-{digest}" / name
    else:
        folder = Path(resolve(location)[1]) / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_writable(location: Location) -> None:
    """Create folder ``location`` and write and delete a small file there.

    Raises:
        ValueError: a URI pyarrow does not understand.
        OSError: (naming ``location``) the store cannot be reached or written.
    """
    probe = join(location, f".write-check-{secrets.token_hex(4)}")
    try:
        makedirs(location)
        write_bytes(probe, b"ok")
        delete(probe)
    except OSError as e:
        raise OSError(f"cannot write to the run directory {location}: {e}") from None
