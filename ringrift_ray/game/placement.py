"""Ring placement (RR-CANON-R080..R082): 1-3 rings on an empty space, 1 on a stack,
within the own-colour supply cap and never a dead placement."""

from ringrift_ray.game._jit import njit
from ringrift_ray.game.constants import F_A, M_HAND, M_NEXT_ORDER, M_RINGS_PER_PLAYER, PLACE_RING
from ringrift_ray.game.movement import emit, stack_can_act, stack_can_capture
from ringrift_ray.game.stacks import cap_height


@njit
def rings_of_colour_on_board(rings, height, player):
    total = 0
    for c in range(height.shape[0]):
        for k in range(height[c]):
            if rings[c, k] == player:
                total += 1
    return total


@njit
def gen_placements(step, rings, height, marker, collapsed, meta, player, out, n):
    """``place_ring`` moves: on an empty space (no stack, marker or collapse) n = 1..v, on any
    stack n = 1 (RR-CANON-R081/R082). The no-dead-placement test follows the reference
    engine: on an empty space it finds the largest count v <= min(3, hand, supply) whose
    stack could move or capture, and lists every count up to v."""
    hand = meta[M_HAND + player]
    if hand <= 0:
        return n
    supply = meta[M_RINGS_PER_PLAYER] - rings_of_colour_on_board(rings, height, player)
    max_n = min(3, hand, supply)
    for c in range(height.shape[0]):
        if collapsed[c] != 0:
            continue
        h = height[c]
        if h == 0:
            if marker[c] != 0:
                continue
            # the reference lists 1..v rings where v is the largest live placement count
            best = 0
            for k in range(max_n, 0, -1):
                if stack_can_act(step, rings, height, collapsed, c, k, k):
                    best = k
                    break
            for k in range(1, best + 1):
                n = emit(out, n, PLACE_RING, player, -1, c, -1)
                out[n - 1, F_A] = k
        elif max_n >= 1:
            top = rings[c, h - 1]
            ch = cap_height(rings, height, c) + 1 if top == player else 1
            if stack_can_act(step, rings, height, collapsed, c, h + 1, ch):
                n = emit(out, n, PLACE_RING, player, -1, c, -1)
                out[n - 1, F_A] = 1
    return n


@njit
def apply_placement(rings, height, order, meta, player, c, count):
    """Put ``count`` rings of ``player`` on top of cell ``c`` from the player's hand."""
    h = height[c]
    if h == 0:
        order[c] = meta[M_NEXT_ORDER]
        meta[M_NEXT_ORDER] += 1
    for k in range(count):
        rings[c, h + k] = player
    height[c] = h + count
    meta[M_HAND + player] -= count


@njit
def any_stack_action_strict(step, rings, height, collapsed, player):
    """True if some stack controlled by ``player`` has a move or capture."""
    for c in range(height.shape[0]):
        h = height[c]
        if h > 0 and rings[c, h - 1] == player:
            if stack_can_act(step, rings, height, collapsed, c, h, cap_height(rings, height, c)):
                return True
    return False


@njit
def any_stack_action(step, rings, height, collapsed, player):
    """The reference's lenient "has a move" test behind ``skip_placement``: a controlled stack
    whose first cell at distance >= height (up to height + 5) along a direction is on the
    board, not collapsed, with no stack or collapsed space before it (it may hold a stack),
    or that has an overtaking capture."""
    for c in range(height.shape[0]):
        h = height[c]
        if h == 0 or rings[c, h - 1] != player:
            continue
        for d in range(step.shape[1]):
            cur = c
            for k in range(1, h + 6):
                cur = step[cur, d]
                if cur < 0 or collapsed[cur] != 0:
                    break
                if k >= h:
                    return True
                if height[cur] != 0:
                    break
        if stack_can_capture(step, rings, height, collapsed, c, h, cap_height(rings, height, c)):
            return True
    return False
