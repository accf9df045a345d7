"""Moves in reference terms, canonical move text, and the reference move JSON.

A `Move` names positions by coordinate tuples (``(x, y)`` or cube ``(x, y, z)``), so it
is board-independent and round-trips through canonical text
(``<type> p<player> [key=value ...]``, reference README): single spaces, keys in a fixed
order per type, position lists sorted by integer tuple and joined with ``;``.
The engine works on int32 move records; ``records.py`` converts between the two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ringrift_ray.game.constants import CTX_NAMES, MODE_NAMES, MOVE_TYPE_NAMES
from ringrift_ray.game.json_fields import integer

Pos = tuple[int, ...]

# type -> ordered text keys
_KEYS = {
    "place_ring": ("to", "n"),
    "move_stack": ("from", "to"),
    "overtaking_capture": ("from", "cap", "to"),
    "continue_capture_segment": ("from", "cap", "to"),
    "process_line": ("line",),
    "choose_line_option": ("line", "collapse"),
    "choose_territory_option": ("region",),
    "eliminate_rings_from_stack": ("to", "ctx"),
    "forced_elimination": ("to",),
    "recovery_slide": ("from", "to", "mode", "opt", "collapse", "extract"),
}
_REQUIRED = {
    "place_ring": ("to", "n"),
    "move_stack": ("from", "to"),
    "overtaking_capture": ("from", "cap", "to"),
    "continue_capture_segment": ("from", "cap", "to"),
    "process_line": ("line",),
    "choose_line_option": ("line", "collapse"),
    "choose_territory_option": ("region",),
    "eliminate_rings_from_stack": ("to", "ctx"),
    "forced_elimination": ("to",),
    "recovery_slide": ("from", "to", "mode"),
}
_LIST_KEYS = ("line", "collapse", "region", "extract")
_POS_KEYS = ("from", "cap", "to")


@dataclass(frozen=True)
class Move:
    """One decision. Fields not used by ``type`` stay None (see the README's text table).

    Attributes:
        type: reference move type, e.g. ``"place_ring"``.
        player: acting player 1..4.
        frm / to / cap: positions (from, landing or target, captured stack).
        n: rings placed (place_ring).
        line / collapse / region / extract: sorted position tuples.
        ctx: elimination context (line, territory, forced, recovery).
        mode / opt: recovery mode (line, fallback, stack_strike) and line option (1, 2).
    """

    type: str
    player: int
    frm: Pos | None = None
    to: Pos | None = None
    cap: Pos | None = None
    n: int | None = None
    line: tuple[Pos, ...] | None = None
    collapse: tuple[Pos, ...] | None = None
    region: tuple[Pos, ...] | None = None
    ctx: str | None = None
    mode: str | None = None
    opt: int | None = None
    extract: tuple[Pos, ...] | None = None

    def __str__(self) -> str:
        return move_to_text(self)


def _pos_text(p: Pos) -> str:
    return ",".join(str(v) for v in p)


def _value_text(key: str, v) -> str:
    if key in _LIST_KEYS:
        return ";".join(_pos_text(p) for p in sorted(v))
    if key in _POS_KEYS:
        return _pos_text(v)
    return str(v)


_ATTR = {"from": "frm"}


def move_to_text(move: Move) -> str:
    """Canonical move text, e.g. ``overtaking_capture p1 from=4,2 cap=1,5 to=0,6``."""
    parts = [move.type, f"p{move.player}"]
    for key in _KEYS.get(move.type, ()):
        v = getattr(move, _ATTR.get(key, key))
        if v is not None:
            parts.append(f"{key}={_value_text(key, v)}")
    return " ".join(parts)


_INT = re.compile(r"-?[0-9]{1,9}")  # ASCII digits only (int() also takes "1_0", "+1", "١")
_COORD_MAX = 999_999_999  # the largest coordinate the text form holds (boards: < 20)
_PLAYER = re.compile(r"p([1-4])")


def _parse_pos(text: str, where: str) -> Pos:
    parts = text.split(",")
    if len(parts) not in (2, 3) or not all(_INT.fullmatch(v) for v in parts):
        raise ValueError(f"{where}: bad position {text!r}")
    return tuple(int(v) for v in parts)


def move_from_text(text: str) -> Move:
    """Parse canonical move text (`move_to_text`); ``parse(to_text(m)) == m``.

    Raises:
        ValueError: not a string, an unknown type, a player token other than ``p1``..``p4``,
            a field unknown to the type or given twice, a malformed value or a missing
            required field; the message names the text and the field.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"move text: expected a non-empty string, got {text!r}")
    tokens = text.split()
    mtype = tokens[0]
    if mtype not in MOVE_TYPE_NAMES:
        raise ValueError(f"move text {text!r}: unknown move type {mtype!r}")
    if len(tokens) < 2 or not _PLAYER.fullmatch(tokens[1]):
        raise ValueError(f"move text {text!r}: expected a player token p1..p4")
    fields: dict = {"type": mtype, "player": int(tokens[1][1:])}
    allowed, seen = _KEYS.get(mtype, ()), set()
    for tok in tokens[2:]:
        key, sep, value = tok.partition("=")
        if not sep or key not in allowed or key in seen:
            raise ValueError(f"move text {text!r}: unexpected field {tok!r} for {mtype}"
                             + (" (given twice)" if key in seen else ""))
        seen.add(key)
        where = f"move text {text!r} field {key}"
        if key in _LIST_KEYS:  # "region=" is the empty list `move_to_text` writes
            fields[key] = tuple(sorted(_parse_pos(p, where) for p in value.split(";") if value))
        elif key in _POS_KEYS:
            fields[_ATTR.get(key, key)] = _parse_pos(value, where)
        elif key in ("n", "opt"):
            if not _INT.fullmatch(value) or value.startswith("-"):
                raise ValueError(f"{where}: expected a non-negative integer, got {value!r}")
            fields[key] = int(value)
        elif key == "ctx" and value not in CTX_NAMES:
            raise ValueError(f"{where}: unknown context {value!r}")
        elif key == "mode" and value not in MODE_NAMES:
            raise ValueError(f"{where}: unknown recovery mode {value!r}")
        else:
            fields[key] = value
    for key in _REQUIRED.get(mtype, ()):
        if fields.get(_ATTR.get(key, key)) is None:
            raise ValueError(f"move text {text!r}: missing field {key}= for {mtype}")
    return Move(**fields)


def _ref_pos(d, where: str) -> Pos:
    if not isinstance(d, dict) or "x" not in d or "y" not in d:
        raise ValueError(f"{where}: expected a position object with x and y, got {d!r}")
    keys = ("x", "y") if d.get("z") is None else ("x", "y", "z")
    return tuple(integer(d[k], f"{where}.{k}", -_COORD_MAX, _COORD_MAX) for k in keys)


def _ref_positions(v, where: str) -> tuple[Pos, ...]:
    """A JSON list of position objects, sorted."""
    if not isinstance(v, list):
        raise ValueError(f"{where}: expected a list of positions, got {v!r}")
    return tuple(sorted(_ref_pos(p, f"{where}[{i}]") for i, p in enumerate(v)))


def _first_of(v, key: str, where: str) -> list:
    """``v[0][key]``: the position list of the first line / region of ``v``."""
    if not isinstance(v, list) or not v or not isinstance(v[0], dict) or key not in v[0]:
        raise ValueError(f"{where}: expected a list whose first entry has {key}, got {v!r}")
    return v[0][key]


def _key_pos(key, where: str) -> Pos:
    if not isinstance(key, str):
        raise ValueError(f"{where}: expected a position key string, got {key!r}")
    return _parse_pos(key, where)


def move_from_reference(move: dict) -> Move:
    """Convert a reference move JSON (trace ``chosen_move`` / vector ``input.move``).

    Raises:
        ValueError: unknown type or a missing/malformed field, named in the message.
    """
    if not isinstance(move, dict):
        raise ValueError(f"move: expected an object, got {type(move).__name__}")
    mtype = move.get("type")
    if mtype not in MOVE_TYPE_NAMES:
        raise ValueError(f"move.type: unknown move type {mtype!r}")
    f: dict = {"type": mtype, "player": integer(move.get("player"), "move.player", 1, 4)}

    def need(name):
        if move.get(name) is None:
            raise ValueError(f"move.{name}: missing for {mtype}")
        return move[name]

    if mtype == "place_ring":
        f["to"] = _ref_pos(need("to"), "move.to")
        count = move.get("placementCount")
        f["n"] = 1 if count is None else integer(count, "move.placementCount", 1)
    elif mtype == "move_stack":
        f["frm"] = _ref_pos(need("from"), "move.from")
        f["to"] = _ref_pos(need("to"), "move.to")
    elif mtype in ("overtaking_capture", "continue_capture_segment"):
        f["frm"] = _ref_pos(need("from"), "move.from")
        f["cap"] = _ref_pos(need("captureTarget"), "move.captureTarget")
        f["to"] = _ref_pos(need("to"), "move.to")
    elif mtype in ("process_line", "choose_line_option"):
        line = _first_of(need("formedLines"), "positions", "move.formedLines")
        f["line"] = _ref_positions(line, "move.formedLines[0].positions")
        if mtype == "choose_line_option":
            f["collapse"] = (_ref_positions(move["collapsedMarkers"], "move.collapsedMarkers")
                             if move.get("collapsedMarkers") else f["line"])
    elif mtype == "choose_territory_option":
        spaces = _first_of(need("disconnectedRegions"), "spaces", "move.disconnectedRegions")
        f["region"] = _ref_positions(spaces, "move.disconnectedRegions[0].spaces")
    elif mtype == "eliminate_rings_from_stack":
        f["to"] = _ref_pos(need("to"), "move.to")
        ctx = move.get("eliminationContext", "territory")
        if ctx not in CTX_NAMES:
            raise ValueError(f"move.eliminationContext: unknown context {ctx!r}")
        f["ctx"] = ctx
    elif mtype == "forced_elimination":
        f["to"] = _ref_pos(need("to"), "move.to")
    elif mtype == "recovery_slide":
        f["frm"] = _ref_pos(need("from"), "move.from")
        f["to"] = _ref_pos(need("to"), "move.to")
        f.update(_recovery_fields(move, need("recoveryMode")))
    return Move(**f)


def _recovery_fields(move: dict, mode) -> dict:
    """``mode``, ``opt``, ``collapse`` and ``extract`` of a reference ``recovery_slide``."""
    if mode not in MODE_NAMES:
        raise ValueError(f"move.recoveryMode: unknown mode {mode!r}")
    f = {"mode": mode}
    if move.get("recoveryOption") is not None:
        f["opt"] = integer(move["recoveryOption"], "move.recoveryOption", 1, 2)
    if move.get("collapsePositions"):
        f["collapse"] = _ref_positions(move["collapsePositions"], "move.collapsePositions")
    if extract := move.get("extractionStacks"):
        if not isinstance(extract, list):
            raise ValueError(f"move.extractionStacks: expected a list, got {extract!r}")
        f["extract"] = tuple(sorted(_key_pos(k, f"move.extractionStacks[{i}]")
                                    for i, k in enumerate(extract)))
    return f


# bookkeeping moves: the reference writes ``to`` as the placeholder (0, 0)
_PLACEHOLDER_TO = ("skip_placement", "no_placement_action", "no_movement_action", "skip_capture",
                   "no_line_action", "no_territory_action", "skip_territory_processing",
                   "swap_sides")


def _json_pos(p: Pos) -> dict:
    return dict(zip(("x", "y", "z"), p, strict=False))


def _formed_line(move: Move) -> dict:
    """The reference's ``formedLines[0]``: positions in line order, player, length and the
    unit step between consecutive positions (``direction``)."""
    line = sorted(move.line)
    step = tuple(b - a for a, b in zip(line[0], line[1], strict=True)) if len(line) > 1 else (0,)
    return {"positions": [_json_pos(p) for p in line], "player": move.player,
            "length": len(line), "direction": _json_pos(step + (0,) * (2 - len(step)))}


def move_to_reference(move: Move, move_number: int | None = None,
                      phase: str | None = None) -> dict:
    """The reference move JSON of ``move`` (the format of a trace's ``chosen_move``).

    Inverse of `move_from_reference`: ``move_from_reference(move_to_reference(m)) == m``.
    Fields: ``id``, ``type``, ``player``; the positions ``from``, ``to``, ``captureTarget``
    that the move names (bookkeeping moves get the reference's placeholder ``to`` (0, 0));
    ``placementCount``; ``formedLines`` / ``collapsedMarkers`` for line decisions (``to`` =
    the line's first position); ``disconnectedRegions`` for a region (``to`` = its first
    position; ``controllingPlayer`` = the mover, as the reference writes); ``eliminationContext``;
    ``recoveryMode`` / ``recoveryOption`` / ``collapsePositions`` / ``extractionStacks``.
    A `Move` with a position left None is written without it.

    Args:
        move: the move.
        move_number: ``moveNumber`` (moves applied before it + 1); omitted if None.
        phase: ``phase`` the move is made in (``GameState.phase``); omitted if None.
    """
    out: dict = {"id": move.type.replace("_", "-") + (f"-{move_number}" if move_number else ""),
                 "type": move.type, "player": move.player}
    if move.frm is not None:
        out["from"] = _json_pos(move.frm)
    if move.to is not None:
        out["to"] = _json_pos(move.to)
    elif move.type in _PLACEHOLDER_TO:
        out["to"] = {"x": 0, "y": 0}
    if move.cap is not None:
        out["captureTarget"] = _json_pos(move.cap)
    if move.n is not None:
        out["placementCount"] = move.n
    if move.line:
        out["to"] = _json_pos(sorted(move.line)[0])
        out["formedLines"] = [_formed_line(move)]
    if move.type == "choose_line_option" and move.collapse:
        out["collapsedMarkers"] = [_json_pos(p) for p in sorted(move.collapse)]
    if move.region is not None:
        spaces = sorted(move.region)
        if spaces:
            out["to"] = _json_pos(spaces[0])
        out["disconnectedRegions"] = [{"spaces": [_json_pos(p) for p in spaces],
                                       "controllingPlayer": move.player, "isDisconnected": True}]
    if move.ctx is not None:
        out["eliminationContext"] = move.ctx
    if move.mode is not None:
        out["recoveryMode"] = move.mode
    if move.opt is not None:
        out["recoveryOption"] = move.opt
    if move.type == "recovery_slide" and move.collapse:
        out["collapsePositions"] = [_json_pos(p) for p in sorted(move.collapse)]
    if move.extract:
        out["extractionStacks"] = [_pos_text(p) for p in move.extract]
    if move_number is not None:
        out["moveNumber"] = move_number
    if phase is not None:
        out["phase"] = phase
    return out
