"""RingRift rules engine: exact on every board (square8, square19, hex8, hexagonal) and
player count (2-4), compiled with numba for tree search.

    from ringrift_ray.game import new_game, legal_moves, apply_move, is_terminal, ranks, render
"""

from ringrift_ray.game.engine import (
    IllegalMoveError,
    apply_move,
    apply_record,
    apply_record_inplace,
    find_legal_record,
    is_terminal,
    legal_move_records,
    legal_moves,
    ranks,
)
from ringrift_ray.game.geometry import BOARD_TYPES, Board, board
from ringrift_ray.game.moves import Move, move_from_text, move_to_text
from ringrift_ray.game.render import render
from ringrift_ray.game.state import GameState, new_game

__all__ = [
    "BOARD_TYPES",
    "Board",
    "GameState",
    "IllegalMoveError",
    "Move",
    "apply_move",
    "apply_record",
    "apply_record_inplace",
    "board",
    "find_legal_record",
    "is_terminal",
    "legal_move_records",
    "legal_moves",
    "move_from_text",
    "move_to_text",
    "new_game",
    "ranks",
    "render",
]
