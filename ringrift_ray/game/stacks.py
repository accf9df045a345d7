"""Stack primitives (RR-CANON-R021..R023): control, cap height, ring-level mutations.

Kernels take the board arrays of ``constants.py`` (`rings [N, R]` bottom -> top,
`height [N]`) and a cell index; they mutate in place.
"""

from ringrift_ray.game._jit import njit
from ringrift_ray.game.constants import M_BOARD_ELIM, M_ELIM, M_HAND


@njit
def controller(rings, height, c):
    """Player whose ring is on top of the stack at ``c`` (0 if no stack)."""
    h = height[c]
    if h == 0:
        return 0
    return rings[c, h - 1]


@njit
def cap_height(rings, height, c):
    """Consecutive top rings of the controlling colour (RR-CANON-R022); 0 if no stack."""
    h = height[c]
    if h == 0:
        return 0
    top = rings[c, h - 1]
    k = 1
    while k < h and rings[c, h - 1 - k] == top:
        k += 1
    return k


@njit
def eliminate_top(rings, height, meta, c, credited, count):
    """Eliminate ``count`` rings from the top of stack ``c``, credited to player ``credited``.

    Updates `board.eliminatedRings` (by ring colour) and the player's credited total.
    """
    for _ in range(count):
        h = height[c]
        colour = rings[c, h - 1]
        rings[c, h - 1] = 0
        height[c] = h - 1
        meta[M_BOARD_ELIM + colour] += 1
        meta[M_ELIM + credited] += 1


@njit
def insert_bottom(rings, height, c, colour):
    """Append a captured ring of ``colour`` at the bottom of stack ``c`` (RR-CANON-R102)."""
    h = height[c]
    for k in range(h, 0, -1):
        rings[c, k] = rings[c, k - 1]
    rings[c, 0] = colour
    height[c] = h + 1


@njit
def move_stack_rings(rings, height, src, dst):
    """Move the whole stack from ``src`` to the empty cell ``dst``."""
    h = height[src]
    for k in range(h):
        rings[dst, k] = rings[src, k]
        rings[src, k] = 0
    height[dst] = h
    height[src] = 0


@njit
def extract_bottommost(rings, height, meta, c, player):
    """Remove the bottommost ring of ``player`` from stack ``c`` (RR-CANON-R113); credit them."""
    h = height[c]
    for k in range(h):
        if rings[c, k] == player:
            for j in range(k, h - 1):
                rings[c, j] = rings[c, j + 1]
            rings[c, h - 1] = 0
            height[c] = h - 1
            meta[M_BOARD_ELIM + player] += 1
            meta[M_ELIM + player] += 1
            return


@njit
def has_buried_ring(rings, height, c, player):
    """True when stack ``c`` holds a ring of ``player`` below the top position."""
    for k in range(height[c] - 1):
        if rings[c, k] == player:
            return True
    return False


@njit
def has_material(rings, height, meta, player):
    """True if ``player`` has a ring in hand or in any stack (not permanently eliminated,
    RR-CANON-R175)."""
    if meta[M_HAND + player] > 0:
        return True
    for c in range(height.shape[0]):
        for k in range(height[c]):
            if rings[c, k] == player:
                return True
    return False
