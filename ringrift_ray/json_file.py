"""JSON files of a run (``league.json``, ``population.json``, position files) at a path or a
URI (`ringrift_ray.storage`): read with errors that name the file, written so that readers
never see a half-written file (`storage.write_text`: a temporary file renamed into place; on
an object store one upload). `JsonModel` is the base of the typed tables stored this way
(``league.json``, ``population.json``): frozen, unknown keys refused, and a malformed file is a
``ValueError`` naming the file and the field."""

from __future__ import annotations

import json
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class JsonModel(BaseModel):
    """A frozen record read from and written to JSON: `from_json` validates (errors name the
    source and the field), `to_json` gives back the same JSON value. A field whose default is
    None and that an older file may lack is declared with `optional`, so it stays absent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def from_json(cls, data: Any, source: str) -> Self:
        """Validate ``data`` (a parsed JSON value).

        Args:
            data: the JSON value (dicts, lists, numbers, strings).
            source: where it came from (a file name), for the error message.

        Raises:
            ValueError: ``data`` is not such a record, e.g. ``"runs/x/league.json:
                versions[3].elo: Input should be a valid number"`` (up to three fields).
        """
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            errors = e.errors()
            where = "; ".join(f"{_field(err['loc'])}: {err['msg']}" for err in errors[:3])
            more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
            raise ValueError(f"{source}: {where}{more}") from None

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON value (tuples as lists; absent `optional` fields left out)."""
        return self.model_dump(mode="json")


def optional(description: str) -> Any:
    """A `JsonModel` field that defaults to None and is left out of `JsonModel.to_json` while
    None (a key older files lack)."""
    return Field(None, exclude_if=_is_none, description=description)


def _is_none(value: Any) -> bool:
    return value is None


def _field(loc: tuple) -> str:
    """A pydantic error location as ``versions[3].elo``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"
