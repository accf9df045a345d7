"""RingRift rules engine: exact on every board (square8, square19, hex8, hexagonal) and
player count (2-4), compiled with numba for tree search.

    from ringrift_ray.game import new_game, legal_moves, apply_move, is_terminal, ranks, render

This package face is the only door: code outside ``ringrift_ray/game/`` imports game names
from here, plus the constants module (``from ringrift_ray.game import constants as K``).

- State: `GameState`, `new_game`, `ply`, `is_terminal`, `ranks`, `render`.
- Rules with `Move` (validated, for users and replay): `legal_moves`, `apply_move`,
  `IllegalMoveError`.
- Rules with int32 records (fast, for search and selfplay): `legal_move_records`,
  `apply_record`, `apply_record_inplace`, `find_legal_record`.
- Moves: `Move`, `move_to_text` / `move_from_text`, `record_to_move`, `records_to_moves`,
  `move_to_record`.
- Reference JSON: `state_from_reference` / `state_to_reference`, `move_from_reference` /
  `move_to_reference`.
- Geometry: `BOARD_TYPES`, `Board`, `board`.
- Compiled building blocks: `njit` (the rules' numba decorator and kernel cache, for kernels
  that call the ones below), `cap_height`, `direction_between`, and the uniform-random
  playouts `random_playout`, `playout_kernel`, `replay_kernel`, `work_buffer`.
"""

from ringrift_ray.game._jit import njit
from ringrift_ray.game.diagram import render
from ringrift_ray.game.engine import (
    IllegalMoveError,
    apply_move,
    apply_record,
    apply_record_inplace,
    find_legal_record,
    is_terminal,
    legal_move_records,
    legal_moves,
    ply,
    ranks,
)
from ringrift_ray.game.geometry import BOARD_TYPES, Board, board
from ringrift_ray.game.interop import state_from_reference, state_to_reference
from ringrift_ray.game.movement import direction_between
from ringrift_ray.game.moves import (
    Move,
    move_from_reference,
    move_from_text,
    move_to_reference,
    move_to_text,
)
from ringrift_ray.game.playout import playout_kernel, random_playout, replay_kernel, work_buffer
from ringrift_ray.game.records import move_to_record, record_to_move, records_to_moves
from ringrift_ray.game.stacks import cap_height
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
    "cap_height",
    "direction_between",
    "find_legal_record",
    "is_terminal",
    "legal_move_records",
    "legal_moves",
    "move_from_reference",
    "move_from_text",
    "move_to_record",
    "move_to_reference",
    "move_to_text",
    "new_game",
    "njit",
    "playout_kernel",
    "ply",
    "random_playout",
    "ranks",
    "record_to_move",
    "records_to_moves",
    "render",
    "replay_kernel",
    "state_from_reference",
    "state_to_reference",
    "work_buffer",
]
