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
    return state.board.positions[cell]


def _cells(state: GameState, cells) -> tuple[tuple[int, ...], ...]:
    positions = state.board.positions
    return tuple(sorted(positions[int(c)] for c in cells))


def _run(state: GameState, start: int, d: int, length: int) -> list[int]:
    step = state.board.step
    out, cur = [], start
    for _ in range(length):
        out.append(cur)
        cur = int(step[cur, d])
    return out


def record_to_move(state: GameState, rec: np.ndarray) -> Move:
    """The `Move` of a record generated for ``state`` (regions are read from ``state``).

    Args:
        state: the position the record was generated for.
        rec: `[MOVE_WIDTH]` integer record.
    """
    r = np.asarray(rec).tolist()
    t = r[K.F_TYPE]
    f: dict = {"type": K.MOVE_TYPE_NAMES[t], "player": r[K.F_PLAYER]}
    positions = state.board.positions
    for name, field in (("frm", K.F_FROM), ("to", K.F_TO), ("cap", K.F_CAP)):
        if r[field] >= 0:
            f[name] = positions[r[field]]
    if t == K.PLACE_RING:
        f["n"] = r[K.F_A]
    elif t in (K.PROCESS_LINE, K.CHOOSE_LINE_OPTION):
        f["line"] = _cells(state, _run(state, r[K.F_A], r[K.F_B], r[K.F_C]))
        if t == K.CHOOSE_LINE_OPTION:
            f["collapse"] = _cells(state, _run(state, r[K.F_D], r[K.F_B], r[K.F_E]))
    elif t == K.CHOOSE_TERRITORY_OPTION:
        f["region"] = _cells(state, region_cells(state.board.tadj, state.marker, state.collapsed,
                                                 r[K.F_A], r[K.F_B]))
    elif t == K.ELIMINATE_RINGS_FROM_STACK:
        f["ctx"] = K.CTX_NAMES[r[K.F_A]]
    elif t == K.RECOVERY_SLIDE:
        f.update(_recovery_fields(state, r))
    return Move(**f)


def _recovery_fields(state: GameState, r: list[int]) -> dict:
    """``mode``, ``opt``, ``collapse`` and ``extract`` of a recovery-slide record ``r``."""
    mode = r[K.F_A]
    f: dict = {"mode": K.MODE_NAMES[mode]}
    if mode == K.MODE_LINE:
        f["opt"] = r[K.F_B]
        if r[K.F_B] == 2:
            seg = _run(state, r[K.F_X], r[K.F_D], int(state.meta[K.M_LINE_LEN]))
            f["collapse"] = _cells(state, seg)
    elif r[K.F_X] >= 0:
        f["extract"] = (_pos(state, r[K.F_X]),)
    return f


# Records whose `Move` depends on the record and the board only (not on the position):
# every type but territory regions (read from the markers) and recovery slides (line length).
_MEMO_TYPES = frozenset(range(len(K.MOVE_TYPE_NAMES))) - {K.CHOOSE_TERRITORY_OPTION,
                                                           K.RECOVERY_SLIDE}
_MEMO_LIMIT = 1 << 14  # moves kept per board (~400 bytes each); the memo starts over when full
# board name -> (record bytes -> memoized Move, id of a memoized Move -> its record bytes);
# the first dict keeps its moves alive, so their ids stay theirs while they are in it
_memos: dict[str, tuple[dict[bytes, Move], dict[int, bytes]]] = {}


def records_to_moves(state: GameState, records: np.ndarray) -> list[Move]:
    """The `Move` of each record generated for ``state``, in order (``record_to_move``).

    Moves that depend only on the record and the board are memoized per board (a `Move` is
    immutable, so equal records share one instance), which makes this the fast path for
    ``legal_moves``.

    Args:
        state: the position the records were generated for.
        records: `[M, MOVE_WIDTH]` integer records.

    Returns:
        M moves.
    """
    recs = np.ascontiguousarray(records, dtype=np.int32).reshape(-1, K.MOVE_WIDTH)
    memo, key_of = _memos.setdefault(state.board.name, ({}, {}))
    buf, width = recs.tobytes(), recs.itemsize * K.MOVE_WIDTH
    keys = [buf[i : i + width] for i in range(0, len(buf), width)]
    try:
        return [memo[key] for key in keys]
    except KeyError:  # some are new: convert those
        pass
    out = []
    for key, rec in zip(keys, recs, strict=True):
        move = memo.get(key)
        if move is None:
            move = record_to_move(state, rec)
            if int(rec[K.F_TYPE]) in _MEMO_TYPES:
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                    key_of.clear()
                memo[key] = move
                key_of[id(move)] = key
        out.append(move)
    return out


def memoized_row(state: GameState, records: np.ndarray, move: Move) -> int | None:
    """Row of ``records`` that ``records_to_moves`` turned into this very ``move`` instance.

    O(1) matching for a move that came from ``legal_moves(state)``; None when ``move`` is not a
    memoized instance (parsed text, a `Move` built by hand, a territory or recovery move) or
    no row of ``records`` is its record.

    Args:
        state: the position ``records`` were generated for.
        records: `[M, MOVE_WIDTH]` int32 records.
        move: the move to look up.
    """
    memo, key_of = _memos.get(state.board.name, ({}, {}))
    key = key_of.get(id(move))
    if key is None or memo.get(key) is not move:  # the memo maps this record to ``move``
        return None
    buf = np.ascontiguousarray(records, dtype=np.int32).tobytes()
    at = buf.find(key)
    while at >= 0 and at % len(key):  # a match across two records: look further
        at = buf.find(key, at + 1)
    return None if at < 0 else at // len(key)


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
