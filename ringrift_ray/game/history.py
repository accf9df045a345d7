"""Turn flags the reference derives from ``moveHistory`` (its trailing moves of the last
mover): whether the current player has acted this turn (forced-elimination gate) and
whether their movement was a recovery slide (territory self-elimination context)."""

from __future__ import annotations

from ringrift_ray.game import constants as K
from ringrift_ray.game.state import GameState

_NO_ACTION = {"no_placement_action", "no_movement_action", "no_line_action",
              "no_territory_action", "skip_placement", "skip_territory_processing", "swap_sides"}


def _cell(state: GameState, pos: dict, where: str) -> int:
    b = state.board
    key = f"{pos['x']},{pos['y']}"
    if b.is_hex:
        z = pos.get("z")
        key += f",{-pos['x'] - pos['y'] if z is None else z}"
    try:
        return b.cell(key)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def restore_turn_flags(state: GameState, move_history: list) -> None:
    """Set the turn flags from reference history: ``M_TURN_ACTED``, ``M_TURN_RECOVERY``,
    ``M_TURNS_COMPLETED``, the capture-phase attacker (last move's landing) and a pending
    territory self-elimination (last move was the player's ``choose_territory_option``).

    Raises:
        ValueError: a history entry without ``type`` or ``player``.
    """
    meta = state.meta
    cur = int(meta[K.M_CURRENT])
    acted = recovery = False
    for i, m in enumerate(move_history):
        if not isinstance(m, dict) or "type" not in m or "player" not in m:
            raise ValueError(f"state.moveHistory[{i}]: expected a move with type and player")
    trailing = [m for m in move_history if m["player"] == cur]
    if move_history and move_history[-1]["player"] == cur:
        acted = any(m["type"] not in _NO_ACTION for m in trailing)
        recovery = any(m["type"] == "recovery_slide" for m in trailing)
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
