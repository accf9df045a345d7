"""Conversion between `Move` (positions as coordinate tuples) and int32 move records.

Records are what the compiled kernels generate and apply (layout in ``constants.py``);
moves are what users, canonical text and the reference JSON speak.
"""

from __future__ import annotations

import numpy as np

from ringrift_ray.game import constants as K
from ringrift_ray.game.moves import Move
from ringrift_ray.game.recovery import formed_line
from ringrift_ray.game.state import GameState
from ringrift_ray.game.territory import region_border_colour, region_cells


def _pos(state: GameState, cell: int) -> tuple[int, ...]:
    return tuple(int(v) for v in state.board.coords[cell])


def _cells(state: GameState, cells) -> tuple[tuple[int, ...], ...]:
    return tuple(sorted(_pos(state, int(c)) for c in cells))


def _run(state: GameState, start: int, d: int, length: int) -> list[int]:
    step = state.board.step
    out, cur = [], start
    for _ in range(length):
        out.append(cur)
        cur = int(step[cur, d])
    return out


def record_to_move(state: GameState, rec: np.ndarray) -> Move:
    """The `Move` of a record generated for ``state`` (regions are read from ``state``)."""
    t = int(rec[K.F_TYPE])
    f: dict = {"type": K.MOVE_TYPE_NAMES[t], "player": int(rec[K.F_PLAYER])}
    if rec[K.F_FROM] >= 0:
        f["frm"] = _pos(state, int(rec[K.F_FROM]))
    if rec[K.F_TO] >= 0:
        f["to"] = _pos(state, int(rec[K.F_TO]))
    if rec[K.F_CAP] >= 0:
        f["cap"] = _pos(state, int(rec[K.F_CAP]))
    if t == K.PLACE_RING:
        f["n"] = int(rec[K.F_A])
    elif t in (K.PROCESS_LINE, K.CHOOSE_LINE_OPTION):
        f["line"] = _cells(state, _run(state, int(rec[K.F_A]), int(rec[K.F_B]), int(rec[K.F_C])))
        if t == K.CHOOSE_LINE_OPTION:
            f["collapse"] = _cells(state, _run(state, int(rec[K.F_D]), int(rec[K.F_B]),
                                               int(rec[K.F_E])))
    elif t == K.CHOOSE_TERRITORY_OPTION:
        f["region"] = _cells(state, region_cells(state.board.tadj, state.marker, state.collapsed,
                                                 int(rec[K.F_A]), int(rec[K.F_B])))
    elif t == K.ELIMINATE_RINGS_FROM_STACK:
        f["ctx"] = K.CTX_NAMES[rec[K.F_A]]
    elif t == K.RECOVERY_SLIDE:
        mode = int(rec[K.F_A])
        f["mode"] = K.MODE_NAMES[mode]
        if mode == K.MODE_LINE:
            f["opt"] = int(rec[K.F_B])
            if rec[K.F_B] == 2:
                seg = _run(state, int(rec[K.F_X]), int(rec[K.F_D]), int(state.meta[K.M_LINE_LEN]))
                f["collapse"] = _cells(state, seg)
        elif rec[K.F_X] >= 0:
            f["extract"] = (_pos(state, int(rec[K.F_X])),)
    return Move(**f)


def record_key(state: GameState, rec: np.ndarray) -> tuple:
    """Hashable identity of a record for matching a `Move` against the legal records."""
    return tuple(int(v) for v in rec)


def move_to_record(state: GameState, move: Move) -> np.ndarray:
    """Record of ``move`` in ``state``; raises ValueError if a position is off the board."""
    b = state.board
    rec = np.full(K.MOVE_WIDTH, -1, dtype=np.int32)
    rec[K.F_TYPE] = K.MOVE_TYPE_NAMES.index(move.type)
    rec[K.F_PLAYER] = move.player

    def cell(p, what):
        return b.cell(",".join(str(v) for v in p)) if p is not None else -1

    rec[K.F_FROM] = cell(move.frm, "from")
    rec[K.F_TO] = cell(move.to, "to")
    rec[K.F_CAP] = cell(move.cap, "cap")
    t = rec[K.F_TYPE]
    if t == K.PLACE_RING:
        rec[K.F_A] = move.n
    elif t in (K.PROCESS_LINE, K.CHOOSE_LINE_OPTION):
        start, d, length = _line_of(b, [cell(p, "line") for p in move.line])
        rec[K.F_A], rec[K.F_B], rec[K.F_C] = start, d, length
        if t == K.CHOOSE_LINE_OPTION:
            cs, cd, cl = _line_of(b, [cell(p, "collapse") for p in move.collapse])
            rec[K.F_D], rec[K.F_E] = cs, cl
    elif t == K.CHOOSE_TERRITORY_OPTION:
        cells = sorted(cell(p, "region") for p in move.region)
        rec[K.F_A] = cells[0]
        rec[K.F_B] = _region_border(state, cells)
        rec[K.F_C] = len(cells)
    elif t == K.ELIMINATE_RINGS_FROM_STACK:
        rec[K.F_A] = K.CTX_NAMES.index(move.ctx)
    elif t == K.RECOVERY_SLIDE:
        mode = K.MODE_NAMES.index(move.mode)
        rec[K.F_A] = mode
        rec[K.F_B] = (move.opt or 1) if mode == K.MODE_LINE else 0
        rec[K.F_E] = 0
        if move.extract and mode != K.MODE_LINE:
            rec[K.F_X] = cell(move.extract[0], "extract")
        if mode == K.MODE_LINE:
            _recovery_line_fields(state, move, rec)
    return rec


def _line_of(b, cells: list[int]) -> tuple[int, int, int]:
    """(start, axis direction, length) of a straight run of sorted cells."""
    cells = sorted(cells)
    if len(cells) == 1:
        return cells[0], 0, 1
    half = b.num_dirs // 2
    for d in range(b.num_dirs):
        if _run_matches(b, cells, d):
            return (cells[0], d, len(cells)) if d < half else (cells[-1], d - half, len(cells))
    raise ValueError(f"positions {cells} do not form a straight line on {b.name}")


def _run_matches(b, cells, d) -> bool:
    cur = cells[0]
    for c in cells[1:]:
        cur = int(b.step[cur, d])
        if cur != c:
            return False
    return True


def _region_border(state: GameState, cells: list[int]) -> int:
    """Border marker colour that encloses ``cells`` (0 if none), read from ``state``."""
    return int(region_border_colour(state.board.tadj, state.marker, state.collapsed,
                                    np.asarray(cells, dtype=np.int32)))


def _recovery_line_fields(state, move, rec) -> None:
    """Fill the formed-line fields of a line-mode recovery slide from the board."""
    start, d, length = formed_line(state.board.step, state.marker, move.player, rec[K.F_FROM],
                                   rec[K.F_TO], int(state.meta[K.M_LINE_LEN]))
    rec[K.F_C], rec[K.F_D], rec[K.F_E] = start, d, length
    if rec[K.F_B] == 2 and move.collapse:
        rec[K.F_X] = _line_of(state.board, [state.board.cell(",".join(map(str, p)))
                                            for p in move.collapse])[0]
