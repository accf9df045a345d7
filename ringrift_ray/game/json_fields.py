"""Typed readers of reference-JSON fields (``interop.py``, ``history.py``): each returns the
value or raises ``ValueError`` naming the field's path (``state.players[1].ringsInHand``)
and what is wrong; every function here raises only that.

Integers are bounded (by default to int32, the range of `GameState.meta`), so a hostile
value is refused by name instead of overflowing an array.
"""

from __future__ import annotations

from typing import Any

INT32_MAX = 2**31 - 1


def field(d: dict, name: str, where: str, kind=None):
    """``d[name]``, of type ``kind`` if given (``where`` is the path of ``d``)."""
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected an object, got {type(d).__name__}")
    if name not in d:
        raise ValueError(f"{where}.{name}: missing")
    v = d[name]
    if kind is not None and not isinstance(v, kind):
        raise ValueError(f"{where}.{name}: expected {kind}, got {v!r}")
    return v


def integer(v: Any, where: str, lo: int = -INT32_MAX - 1, hi: int = INT32_MAX) -> int:
    """A JSON integer (not a boolean) in ``lo..hi``."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{where}: expected an integer, got {v!r}")
    if not lo <= v <= hi:
        raise ValueError(f"{where}: {v} outside {lo}..{hi}")
    return v


def boolean(v: Any, where: str) -> bool:
    """A JSON boolean; null reads as false."""
    if v is not None and not isinstance(v, bool):
        raise ValueError(f"{where}: expected true or false, got {v!r}")
    return bool(v)


def obj(v: Any, where: str) -> dict:
    """A JSON object; null reads as empty."""
    if v is not None and not isinstance(v, dict):
        raise ValueError(f"{where}: expected an object, got {v!r}")
    return v or {}


def player(v: Any, num_players: int, where: str) -> int:
    """A player number ``1..num_players``."""
    p = integer(v, where)
    if not 1 <= p <= num_players:
        raise ValueError(f"{where}: player {p} outside 1..{num_players}")
    return p


def cell(b, key: Any, where: str) -> int:
    """The cell of position key ``key`` (``"x,y"`` / ``"x,y,z"``) on board ``b``."""
    if not isinstance(key, str):
        raise ValueError(f"{where}: position key must be a string, got {key!r}")
    try:
        return b.cell(key)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def pos_key(pos: dict, is_hex: bool, where: str) -> str:
    """The position key of a position object ``{x, y[, z]}`` (hex: ``z`` = -x - y if absent)."""
    x, y = (integer(field(pos, k, where), f"{where}.{k}") for k in ("x", "y"))
    if is_hex:
        z = pos.get("z")
        return f"{x},{y},{-x - y if z is None else integer(z, f'{where}.z')}"
    return f"{x},{y}"
