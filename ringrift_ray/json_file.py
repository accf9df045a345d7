"""JSON files of a run (``league.json``, ``population.json``, position files) at a path or a
URI (`ringrift_ray.storage`): read with errors that name the file, written so that readers
never see a half-written file (`storage.write_text`: a temporary file renamed into place; on
an object store one upload)."""

from __future__ import annotations

import json
from typing import Any

from ringrift_ray import storage


def read_json(path: storage.Location, what: str = "JSON file") -> Any:
    """The JSON value stored at ``path``.

    Args:
        path: a path or a URI.
        what: what the file is, for the not-found message (``"league table"``).

    Raises:
        FileNotFoundError: no file at ``path`` ("<what> not found: <path>").
        ValueError: not UTF-8 JSON, or nested too deeply ("<path>: ...").
    """
    if not storage.is_file(path):
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        return json.loads(storage.read_text(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply") from None


def write_json(value: Any, path: storage.Location) -> None:
    """Write ``value`` as JSON (indent 1) to ``path`` (a path or a URI), atomically.

    Raises:
        OSError: the write failed (no partial file is left under the name).
    """
    storage.write_text(path, json.dumps(value, indent=1))
