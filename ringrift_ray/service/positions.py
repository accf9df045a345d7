"""A request's position as the rules see it: reference JSON -> `GameState`, or the reason
the rules reject it.

`position_of` turns a ``game_state`` that passed the shape check of ``api.py`` (a 422 when
it does not) into a `GameState`, and raises `StateRejected` (a 400, with the reason) when
the rules reject it: a value the reader refuses (a cell off the board, a stack and a
marker on one cell, an unknown phase or status), rings that do not add up (more than a
player's rings in hand + on the board), a finished game, a player that is not to move,
or a position without a legal move.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ringrift_ray.game import GameState, is_terminal, legal_move_records, state_from_reference
from ringrift_ray.game import constants as K
from ringrift_ray.service.api import GameStateJSON

# keys of a trace's ``state_extras``; a client may send them inside ``game_state`` instead
EXTRAS_KEYS = (
    "mustMoveFromStackKey", "chainCaptureState", "pendingLineRewardElimination",
    "rulesOptions", "lpsRoundIndex", "lpsCurrentRoundActorMask",
    "lpsExclusivePlayerForCompletedRound", "lpsCurrentRoundFirstPlayer",
    "lpsConsecutiveExclusiveRounds", "lpsRoundsRequired", "lpsConsecutiveExclusivePlayer",
)


class StateRejected(ValueError):
    """The rules reject a well-formed state (HTTP 400); the message is the reason."""


def variant_of(game_state: GameStateJSON) -> tuple[str, int]:
    """``(board type, player count)`` of a shape-checked state: the model it routes to."""
    return game_state.board.type, len(game_state.players)


def position_of(game_state: GameStateJSON | dict, player_number: int | None,
                state_extras: dict[str, Any] | None = None) -> GameState:
    """The `GameState` of a request, checked for play by ``player_number``.

    Args:
        game_state: the shape-checked ``game_state`` (or its JSON dict).
        player_number: the player asked to move; None to skip the play checks (the play
            page shows finished games too).
        state_extras: the trace ``state_extras``; None: the `EXTRAS_KEYS` found in
            ``game_state`` itself.

    Raises:
        StateRejected: the reason the rules reject the state (see the module docstring).
    """
    raw = (game_state.model_dump(mode="json", exclude_unset=True)
           if isinstance(game_state, GameStateJSON) else game_state)
    extras = state_extras if state_extras is not None else {
        k: raw[k] for k in EXTRAS_KEYS if k in raw}
    try:
        state = state_from_reference(raw, extras)
    except ValueError as e:
        raise StateRejected(str(e)) from None
    _check_ring_counts(state)
    if player_number is not None:
        check_playable(state, player_number)
    return state


def _check_ring_counts(state: GameState) -> None:
    rpp, meta = state.board.rings_per_player, state.meta
    for p in range(1, state.num_players + 1):
        hand, on_board = int(meta[K.M_HAND + p]), int(np.count_nonzero(state.rings == p))
        if hand + on_board > rpp:
            raise StateRejected(
                f"player {p}: {hand} rings in hand + {on_board} on the board exceed the "
                f"{rpp} rings per player on {state.board.name}")


def check_playable(state: GameState, player_number: int) -> None:
    """Raise `StateRejected` unless ``player_number`` is to move in a live game with at
    least one legal move."""
    if not state.is_active or is_terminal(state):
        raise StateRejected(f"the game is over (winner: {state.winner}); there is no move "
                            "to choose")
    if player_number != state.current_player:
        raise StateRejected(f"player {player_number} is not to move: currentPlayer is "
                            f"{state.current_player} ({state.phase})")
    if len(legal_move_records(state)) == 0:
        raise StateRejected(f"player {player_number} has no legal move in {state.phase}")
