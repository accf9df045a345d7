"""ASCII diagrams of a position, for square and hex boards.

Cell legend (4 characters each):

| text  | meaning                                              |
|-------|------------------------------------------------------|
| ` .  `| empty space                                          |
| `2/3` | stack controlled by player 2, height 3 (cap shown by ``*`` when cap < height) |
| ` m1 `| marker of player 1                                   |
| ` #1 `| collapsed space (territory) of player 1              |

Square boards print row ``y`` top to bottom with ``x`` across. Hex boards print one row per
cube ``z`` (top ``z = -r``), cells ordered by ``x``, rows indented so neighbours line up.
"""

from __future__ import annotations

from ringrift_ray.game import constants as K
from ringrift_ray.game.stacks import cap_height
from ringrift_ray.game.state import GameState


def _cell_text(state: GameState, c: int) -> str:
    h = int(state.height[c])
    if h:
        ctrl = int(state.rings[c, h - 1])
        capped = "*" if cap_height(state.rings, state.height, c) < h else ""
        return f"{ctrl}/{h}{capped}".ljust(4)
    if state.marker[c]:
        return f" m{state.marker[c]} "
    if state.collapsed[c]:
        return f" #{state.collapsed[c]} "
    return " .  "


def _header(state: GameState) -> list[str]:
    m = state.meta
    status = ("active" if state.is_active
              else f"finished, winner {state.winner} ({state.victory_reason})")
    lines = [f"{state.board.name} {state.num_players}p  turn {m[K.M_TURN]}  "
             f"player {state.current_player} to move  phase {state.phase}  [{status}]"]
    for p in range(1, state.num_players + 1):
        lines.append(f"  p{p}: in hand {m[K.M_HAND + p]:3d}  eliminated {m[K.M_ELIM + p]:3d}  "
                     f"territory {m[K.M_TERR + p]:3d}")
    return lines


def render(state: GameState) -> str:
    """An ASCII diagram of ``state``: a header with counters, then the board."""
    b = state.board
    lines = _header(state)
    if not b.is_hex:
        lines.append("     " + "".join(f"x{x:<3d}" for x in range(b.size)))
        for y in range(b.size):
            row = "".join(_cell_text(state, b.cell(f"{x},{y}")) for x in range(b.size))
            lines.append(f"y{y:<3d} {row}")
        return "\n".join(lines)
    r = b.radius
    for z in range(-r, r + 1):
        cells = [(x, -x - z) for x in range(-r, r + 1) if abs(-x - z) <= r]
        row = "".join(_cell_text(state, b.cell(f"{x},{y},{z}")) for x, y in cells)
        lines.append(f"z{z:<4d}" + " " * (2 * abs(z)) + row)
    return "\n".join(lines)
