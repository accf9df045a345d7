"""What the play page (``GET /play``, ``play.html``) asks the server: the rules and the
pictures, as JSON. The page itself holds only the position (``game_state`` +
``state_extras``, the reference serialization, lossless for our engine) and the seats.

| call                        | in                                        | out                    |
|-----------------------------|-------------------------------------------|------------------------|
| `new_position`              | board, players                            | a `view` of move 0     |
| `view`                      | game_state, state_extras, last move text  | position + picture +   |
|                             |                                           | legal moves            |
| `apply`                     | game_state, state_extras, move (ref JSON) | a `view` of the result |

A view is ``{game_state, state_extras, svg, legal_moves: [{text, move}], current_player,
phase, active, ranks, move_text}``; the picture is ``cli/pictures.py``'s SVG with the last
move's cells outlined (about 40 ms to draw). With ``picture=False`` a view leaves out the
picture and the legal moves (``svg`` None, ``legal_moves`` empty): the page's quick steps
between two model moves. Moves the model plays come from ``POST /ai/move`` like any client's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ringrift_ray.cli.pictures import render_svg
from ringrift_ray.game import (
    GameState,
    IllegalMoveError,
    apply_move,
    legal_move_records,
    move_from_reference,
    move_to_reference,
    move_to_text,
    new_game,
    ranks,
    records_to_moves,
    state_to_reference,
)
from ringrift_ray.service.positions import StateRejected, position_of

PAGE = Path(__file__).with_name("play.html")


def page_html() -> str:
    """The play page: plain HTML + JavaScript, no build step."""
    return PAGE.read_text()


def _view(state: GameState, move_text: str | None = None,
          picture: bool = True) -> dict[str, Any]:
    game_state, extras = state_to_reference(state)
    moves = records_to_moves(state, legal_move_records(state)) \
        if state.is_active and picture else []
    return {
        "game_state": game_state,
        "state_extras": extras,
        "svg": render_svg(state, move_text, caption=move_text) if picture else None,
        "legal_moves": sorted(({"text": move_to_text(m), "move": move_to_reference(m)}
                               for m in moves), key=lambda d: d["text"]),
        "current_player": state.current_player,
        "phase": state.phase,
        "active": state.is_active,
        "ranks": {str(p): r for p, r in ranks(state).items()} if not state.is_active else None,
        "move_text": move_text,
    }


def new_position(board: str, players: int) -> dict[str, Any]:
    """The `view` of a new game.

    Raises:
        ValueError: an unknown board or a player count outside 2..4.
    """
    return _view(new_game(board, players))


def view(game_state: dict, state_extras: dict | None,
         move_text: str | None = None) -> dict[str, Any]:
    """The `view` of a position (finished games included), with its picture.

    Raises:
        StateRejected: the rules reject the state.
    """
    return _view(position_of(game_state, None, state_extras), move_text)


def apply(game_state: dict, state_extras: dict | None, move: dict,
          picture: bool = True) -> dict[str, Any]:
    """Play ``move`` (reference JSON) and return the `view` of the result (without picture
    and legal moves when not ``picture``).

    Raises:
        StateRejected: the rules reject the state, or the move is malformed or illegal.
    """
    state = position_of(game_state, None, state_extras)
    try:
        m = move_from_reference(move)
        after = apply_move(state, m)
    except (IllegalMoveError, ValueError) as e:
        raise StateRejected(str(e)) from None
    return _view(after, move_to_text(m), picture)
