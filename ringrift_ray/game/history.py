"""``moveHistory``, the trailing moves of the last mover, and the turn flags read from it.

The reference serialization keeps only the last mover's trailing moves: all that legality
depends on. `restore_turn_flags` reads the flags from them: whether the player to move has
acted this turn (the forced-elimination gate, RR-CANON-R072/R100), whether their movement
was a recovery slide (the recovery self-elimination context, R114), the capture-phase
attacker (the last move's landing, R093), a pending territory self-elimination (the last
move was their region choice, R145), the pie-rule state (R180) and, at a turn's start,
whether the previous mover acted (the stalemate tiebreak, R173). `trailing_moves` writes
moves from which those flags read back unchanged.
"""

from __future__ import annotations

from ringrift_ray.game import constants as K
from ringrift_ray.game import json_fields
from ringrift_ray.game.moves import Move, move_to_reference
from ringrift_ray.game.state import GameState

_NO_ACTION = {"no_placement_action", "no_movement_action", "no_line_action",
              "no_territory_action", "skip_placement", "skip_territory_processing", "swap_sides"}


def _cell(state: GameState, pos: dict, where: str) -> int:
    key = json_fields.pos_key(pos, state.board.is_hex, where)
    return json_fields.cell(state.board, key, where)


def restore_turn_flags(state: GameState, move_history: list) -> None:
    """Set the turn flags from reference history: ``M_TURN_ACTED``, ``M_TURN_RECOVERY``,
    ``M_TURNS_COMPLETED``, the capture-phase attacker (last move's landing), a pending
    territory self-elimination (last move was the player's ``choose_territory_option``) and,
    when the last mover is not the player to move, ``M_LAST_ACTOR`` if they acted.

    Raises:
        ValueError: a history entry that is not a move with a known ``type`` and a
            ``player`` of the game, or a malformed landing position (named by its path).
    """
    meta = state.meta
    cur = int(meta[K.M_CURRENT])
    acted = recovery = False
    for i, m in enumerate(move_history):
        where = f"state.moveHistory[{i}]"
        if json_fields.field(m, "type", where) not in K.MOVE_TYPE_NAMES:
            raise ValueError(f"{where}.type: unknown move type {m['type']!r}")
        json_fields.player(json_fields.field(m, "player", where), state.num_players,
                           f"{where}.player")
    trailing = trailing_of(move_history)
    mover_acted = any(m["type"] not in _NO_ACTION for m in trailing)
    if move_history and move_history[-1]["player"] == cur:
        acted = mover_acted
        recovery = any(m["type"] == "recovery_slide" for m in trailing)
    elif mover_acted:
        meta[K.M_LAST_ACTOR] = move_history[-1]["player"]
    meta[K.M_TURN_ACTED] = int(acted)
    meta[K.M_TURN_RECOVERY] = int(recovery)
    if move_history:
        meta[K.M_LAST_TYPE] = K.MOVE_TYPE_NAMES.index(move_history[-1]["type"])
        meta[K.M_LAST_PLAYER] = move_history[-1]["player"]
    last = move_history[-1] if move_history else None
    if last is not None and last["player"] == cur:
        phase = int(meta[K.M_PHASE])
        if phase == K.CAPTURE and int(meta[K.M_CHAIN]) < 0 and isinstance(last.get("to"), dict):
            where = f"state.moveHistory[{len(move_history) - 1}].to"
            meta[K.M_CHAIN] = _cell(state, last["to"], where)
        if phase == K.TERRITORY_PROCESSING and last["type"] == "choose_territory_option":
            meta[K.M_PENDING_TERR_ELIM] = 2 if recovery else 1
    meta[K.M_SWAPPED] = int(any(m["type"] == "swap_sides" for m in move_history))
    rpp = int(meta[K.M_RINGS_PER_PLAYER])
    first_p2_turn = (
        cur == 2 and int(meta[K.M_HAND + 2]) == rpp and not (state.rings == 2).any()
        and int(meta[K.M_BOARD_ELIM + 2]) == 0 and int(meta[K.M_HAND + 1]) < rpp
    )
    meta[K.M_TURNS_COMPLETED] = 1 if first_p2_turn else (0 if int(meta[K.M_HISTORY]) == 0 else 2)


def trailing_of(move_history: list) -> list:
    """The trailing moves of the last mover in ``move_history``."""
    out = []
    for m in reversed(move_history):
        if out and m["player"] != out[-1]["player"]:
            break
        out.append(m)
    return out[::-1]


def trailing_moves(state: GameState) -> list[dict]:
    """``moveHistory`` for ``state``: the last mover's trailing moves, rebuilt from the turn
    flags (the state keeps no move list) so that `restore_turn_flags` reads them back.

    Written, in turn order, as reference move JSON (`move_to_reference`) with ``moveNumber``:
    a recovery slide if the mover's movement this turn was one (``M_TURN_RECOVERY``); an
    action (``move_stack``) if the mover acted this turn (``M_TURN_ACTED``; at a turn's start
    ``M_LAST_ACTOR``) and the last move is no action; then the last move (``M_LAST_TYPE``).
    Positions are written where the state knows them (the last move's landing in the capture
    phases, ``M_CHAIN``); a pending region choice carries a region with no spaces (its cells
    have collapsed and hold no stack that the self-elimination could exclude). Empty before
    the first move.
    """
    meta = state.meta
    last = int(meta[K.M_LAST_TYPE])
    if last < 0:
        return []
    player, ltype = int(meta[K.M_LAST_PLAYER]), K.MOVE_TYPE_NAMES[last]
    mid_turn = player == state.current_player and state.is_active
    acted = meta[K.M_TURN_ACTED] if mid_turn else meta[K.M_LAST_ACTOR] == player
    moves = []
    if mid_turn and meta[K.M_TURN_RECOVERY] and ltype != "recovery_slide":
        moves.append(Move("recovery_slide", player))
    elif acted and ltype in _NO_ACTION:
        moves.append(Move("move_stack", player))
    chain = int(meta[K.M_CHAIN])
    to = (tuple(int(v) for v in state.board.coords[chain])
          if mid_turn and chain >= 0 and state.phase in ("capture", "chain_capture") else None)
    moves.append(Move(ltype, player, to=to,
                      region=() if ltype == "choose_territory_option" else None))
    first = int(meta[K.M_HISTORY]) - len(moves) + 1
    return [move_to_reference(m, first + i) for i, m in enumerate(moves)]
