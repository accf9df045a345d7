"""The 2-player pie rule (RR-CANON-R180): once, at the start of player 2's first turn, player 2
may answer player 1's opening with ``swap_sides``.

Players in the engine are colours, so the swap changes no board or counter: the seats
(who plays which colour) exchange, which ``M_SWAPPED`` records for the layers above, and
player 2 (colour 2) stays to move in the same phase.
"""

from ringrift_ray.game._jit import njit
from ringrift_ray.game.constants import (
    M_CURRENT,
    M_NUM_PLAYERS,
    M_SWAP_RULE,
    M_SWAPPED,
    M_TURN_ACTED,
    M_TURNS_COMPLETED,
)


@njit
def swap_available(meta):
    """True when the pie rule is on and player 2 is at the start of their first turn."""
    return (
        meta[M_SWAP_RULE] == 1
        and meta[M_NUM_PLAYERS] == 2
        and meta[M_SWAPPED] == 0
        and meta[M_CURRENT] == 2
        and meta[M_TURNS_COMPLETED] == 1
        and meta[M_TURN_ACTED] == 0
    )


@njit
def apply_swap(meta):
    """Record the seat swap; the position is unchanged."""
    meta[M_SWAPPED] = 1
