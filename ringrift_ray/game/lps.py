"""Last-player-standing (RR-CANON-R172) bookkeeping, run at the start of every turn.

A round is a cycle of turns of the players with material; the actor mask records, for each
player at the start of their turn, whether a *real action* (a ring placement, a non-capture
move or an overtaking capture; not recovery or forced elimination) is available. A player
who is the only one with a real action for ``M_LPS_REQUIRED`` (3) consecutive completed
rounds wins at the start of their next turn, if they still have a real action and nobody
else does. Field names follow the reference's ``state_extras`` (``lps*``).
"""

from ringrift_ray.game._jit import njit
from ringrift_ray.game.constants import (
    M_CURRENT,
    M_LPS_CONSEC,
    M_LPS_CONSEC_PLAYER,
    M_LPS_DUE,
    M_LPS_EXCL_COMPLETED,
    M_LPS_FIRST,
    M_LPS_MASK,
    M_LPS_REQUIRED,
    M_LPS_ROUND,
    M_NUM_PLAYERS,
)
from ringrift_ray.game.placement import any_stack_action_strict, gen_placements
from ringrift_ray.game.stacks import has_material


@njit
def has_real_action(step, rings, height, marker, collapsed, meta, p, scratch):
    """A legal placement, or a move or capture from a stack ``p`` controls."""
    if gen_placements(step, rings, height, marker, collapsed, meta, p, scratch, 0) > 0:
        return True
    return any_stack_action_strict(step, rings, height, collapsed, p)


@njit
def lps_turn_start(step, rings, height, marker, collapsed, meta, cur, scratch):
    """Update the round counters for ``cur`` starting a turn (the win test is ``lps_victory``)."""
    np_ = meta[M_NUM_PLAYERS]
    if not has_material(rings, height, meta, cur):
        return
    first = meta[M_LPS_FIRST]
    if first == 0 or not has_material(rings, height, meta, first):
        meta[M_LPS_ROUND] += 1
        meta[M_LPS_FIRST] = cur
        for p in range(1, np_ + 1):
            meta[M_LPS_MASK + p] = -1
        meta[M_LPS_EXCL_COMPLETED] = 0
        cp = meta[M_LPS_CONSEC_PLAYER]
        if cp == 0 or not has_material(rings, height, meta, cp):
            meta[M_LPS_CONSEC] = 0
            meta[M_LPS_CONSEC_PLAYER] = 0
    elif cur == first and _mask_nonempty(meta, np_):
        count = 0
        excl = 0
        for p in range(1, np_ + 1):
            if meta[M_LPS_MASK + p] == 1 and has_material(rings, height, meta, p):
                count += 1
                excl = p
        if count != 1:
            excl = 0
        meta[M_LPS_EXCL_COMPLETED] = excl
        if excl:
            if excl == meta[M_LPS_CONSEC_PLAYER]:
                meta[M_LPS_CONSEC] += 1
            else:
                meta[M_LPS_CONSEC_PLAYER] = excl
                meta[M_LPS_CONSEC] = 1
        else:
            meta[M_LPS_CONSEC] = 0
            meta[M_LPS_CONSEC_PLAYER] = 0
        meta[M_LPS_ROUND] += 1
        for p in range(1, np_ + 1):
            meta[M_LPS_MASK + p] = -1
        meta[M_LPS_FIRST] = cur
    real = has_real_action(step, rings, height, marker, collapsed, meta, cur, scratch)
    meta[M_LPS_MASK + cur] = 1 if real else 0
    meta[M_LPS_DUE] = 1


@njit
def lps_victory(step, rings, height, marker, collapsed, meta, scratch):
    """The LPS winner at the start of the current turn (0 if none): the exclusive player of
    the last ``M_LPS_REQUIRED`` rounds, to move, with a real action nobody else has."""
    meta[M_LPS_DUE] = 0
    cur = meta[M_CURRENT]
    cand = meta[M_LPS_CONSEC_PLAYER]
    if meta[M_LPS_CONSEC] < meta[M_LPS_REQUIRED] or cand == 0 or cand != cur:
        return 0
    if meta[M_LPS_MASK + cur] != 1:
        return 0
    for q in range(1, meta[M_NUM_PLAYERS] + 1):
        if q != cand and has_material(rings, height, meta, q) and has_real_action(
                step, rings, height, marker, collapsed, meta, q, scratch):
            return 0
    return cand


@njit
def _mask_nonempty(meta, np_):
    for p in range(1, np_ + 1):
        if meta[M_LPS_MASK + p] != -1:
            return True
    return False
