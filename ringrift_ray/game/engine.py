"""Public rules API over the compiled kernels: legal moves, pure move application, ranks.

Two speeds: ``legal_move_records`` / ``apply_record`` work on int32 records (search,
selfplay); ``legal_moves`` / ``apply_move`` speak `Move` and validate (users, replay).
"""

from __future__ import annotations

import threading

import numpy as np

from ringrift_ray.game import constants as K
from ringrift_ray.game.moves import Move, move_from_text, move_to_text
from ringrift_ray.game.records import memoized_row, move_to_record, records_to_moves
from ringrift_ray.game.state import GameState
from ringrift_ray.game.territory import EXPLICIT_REGION
from ringrift_ray.game.turn import apply_record as _apply_kernel
from ringrift_ray.game.turn import gen_legal
from ringrift_ray.game.victory import final_ranks


class IllegalMoveError(ValueError):
    """A move that is not legal in the given state; the message names the move and why."""


_buffers = threading.local()


def _buf(name: str) -> np.ndarray:
    b = getattr(_buffers, name, None)
    if b is None:
        b = np.empty((K.MAX_MOVES, K.MOVE_WIDTH), dtype=np.int32)
        setattr(_buffers, name, b)
    return b


def legal_move_records(state: GameState) -> np.ndarray:
    """Legal move records of the player to move: `[M, MOVE_WIDTH]` int32 (a fresh array).

    Empty (M = 0) once the game is over.
    """
    if not state.meta[K.M_ACTIVE]:
        return np.empty((0, K.MOVE_WIDTH), dtype=np.int32)
    out = _buf("out")
    n = gen_legal(state.board.step, state.board.tadj, state.rings, state.height, state.marker,
                  state.collapsed, state.order, state.meta, out)
    return out[:n].copy()


def legal_moves(state: GameState) -> list[Move]:
    """Legal moves of the player to move, bookkeeping moves included; [] once finished.

    The order is that of ``legal_move_records``.
    """
    return records_to_moves(state, legal_move_records(state))


def apply_record_inplace(state: GameState, rec: np.ndarray,
                         region: np.ndarray | None = None) -> None:
    """Apply a legal record to ``state`` in place (no validation; for search and playouts).

    ``region`` carries the cells of an explicit territory region (``F_B == EXPLICIT_REGION``).
    """
    b = state.board
    scratch = _buf("scratch")
    if region is not None:
        scratch[: len(region), 0] = region
    _apply_kernel(b.step, b.tadj, b.border_adj, state.rings, state.height, state.marker,
                  state.collapsed, state.order, state.meta, rec, scratch)


def apply_record(state: GameState, rec: np.ndarray) -> GameState:
    """Pure: a copy of ``state`` with the legal record ``rec`` applied (not validated)."""
    nxt = state.copy()
    apply_record_inplace(nxt, rec)
    return nxt


def _diagnose(state: GameState, move: Move, legal: list[Move]) -> str:
    if not state.is_active:
        return "the game is over"
    if move.player != state.current_player:
        return f"it is player {state.current_player}'s turn"
    same_type = [m for m in legal if m.type == move.type]
    if not same_type:
        kinds = sorted({m.type for m in legal})
        return f"{move.type} is not legal in phase {state.phase} (legal types: {', '.join(kinds)})"
    return (f"no legal {move.type} matches; {len(same_type)} legal {move.type} move(s), e.g. "
            f"{move_to_text(same_type[0])!r}")


def find_legal_record(state: GameState, move: Move | str) -> np.ndarray:
    """The legal record that ``move`` names in ``state``.

    Raises:
        IllegalMoveError: the move is not legal here; the message names it and says why.
        ValueError: unparseable move text (the message names the bad part).
        TypeError: ``move`` is neither a `Move` nor a string.
    """
    if isinstance(move, str):
        move = move_from_text(move)
    if not isinstance(move, Move):
        raise TypeError(f"move must be a Move or canonical move text, got {type(move).__name__}")
    if move.type not in K.MOVE_TYPE_NAMES:
        raise IllegalMoveError(f"illegal move {move_to_text(move)!r}: unknown move type")
    records = legal_move_records(state)
    row = memoized_row(state, records, move)
    if row is not None:
        return records[row]
    cand = records[records[:, K.F_TYPE] == K.MOVE_TYPE_NAMES.index(move.type)]
    for field, pos in ((K.F_FROM, move.frm), (K.F_TO, move.to)):
        if pos is not None and len(cand):
            key = ",".join(str(v) for v in pos)
            if key not in state.board.index:
                raise IllegalMoveError(f"illegal move {move_to_text(move)!r}: position {key} "
                                       f"is not on board {state.board.name}")
            cand = cand[cand[:, field] == state.board.index[key]]
    # only records that agree on type and squares are converted
    for i, legal_move in enumerate(records_to_moves(state, cand)):
        if legal_move is move or legal_move == move:
            return cand[i]
    legal = records_to_moves(state, records)
    raise IllegalMoveError(f"illegal move {move_to_text(move)!r} for player "
                           f"{state.current_player} in {state.phase}: "
                           f"{_diagnose(state, move, legal)}")


def apply_move(state: GameState, move: Move | str, *, validate: bool = True) -> GameState:
    """Pure move application: returns the next state; ``state`` is untouched.

    Args:
        state: the position.
        move: a `Move` or its canonical text.
        validate: check legality first (default). ``False`` applies the move's effects as
            given, without checking it is legal here: the semantics of the reference's
            contract-vector runner, which tests transitions, not legality. Never use it for
            play.

    Raises:
        IllegalMoveError: the move is not legal in ``state`` (message names move and reason).
        ValueError: unparseable move text; with ``validate=False``, a move naming positions
            off the board or a malformed line.
        TypeError: ``move`` is neither a `Move` nor a string.
    """
    if validate:
        return apply_record(state, find_legal_record(state, move))
    if isinstance(move, str):
        move = move_from_text(move)
    rec, region = move_to_record(state, move), None
    if rec[K.F_TYPE] == K.CHOOSE_TERRITORY_OPTION and rec[K.F_B] < 0:
        region = np.array(sorted(state.board.cell(",".join(map(str, p))) for p in move.region),
                          dtype=np.int32)
        rec[K.F_B] = EXPLICIT_REGION
    nxt = state.copy()
    apply_record_inplace(nxt, rec, region)
    return nxt


def is_terminal(state: GameState) -> bool:
    """True once the game has ended (victory or stalemate)."""
    return not state.meta[K.M_ACTIVE]


def ply(state: GameState) -> int:
    """Moves applied so far: every applied move counts, bookkeeping moves (``no_line_action``,
    ``skip_capture``, ...) included (the reference's ``historyLength``)."""
    return int(state.meta[K.M_HISTORY])


def ranks(state: GameState) -> dict[int, int]:
    """Final rank of every player, ``{player: rank}`` with 1 = winner; ties share a rank
    (COMPACT_RULES §8, RR-CANON-R175..R178).

    Raises:
        ValueError: the game is not over.
    """
    if state.is_active:
        raise ValueError("ranks() needs a finished game; this one is still active")
    r = final_ranks(state.meta, state.marker)
    return {p: int(r[p]) for p in range(1, state.num_players + 1)}
