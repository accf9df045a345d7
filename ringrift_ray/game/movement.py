"""Non-capture movement and overtaking capture (RR-CANON-R090..R103).

Generation kernels append move records (``constants.F_*`` layout) to ``out`` starting at row
``n`` and return the new row count. ``step [N, D]`` is the board's direction table.
"""

import numpy as np

from ringrift_ray.game._jit import njit
from ringrift_ray.game.constants import (
    F_CAP,
    F_FROM,
    F_PLAYER,
    F_TO,
    F_TYPE,
    M_NEXT_ORDER,
    M_TERR,
)
from ringrift_ray.game.stacks import cap_height, eliminate_top, insert_bottom, move_stack_rings


@njit
def emit(out, n, mtype, player, frm, to, cap):
    """Write one move record with the common fields; returns ``n + 1``."""
    for k in range(out.shape[1]):
        out[n, k] = -1
    out[n, F_TYPE] = mtype
    out[n, F_PLAYER] = player
    out[n, F_FROM] = frm
    out[n, F_TO] = to
    out[n, F_CAP] = cap
    return n + 1


@njit
def gen_simple_moves(step, height, collapsed, c, player, mtype, out, n):
    """Non-capture moves of the stack at ``c`` (RR-CANON-R091): distance >= height,
    no stacks or collapsed spaces on the path or the landing; markers may be crossed."""
    h = height[c]
    for d in range(step.shape[1]):
        cur = c
        k = 0
        while True:
            cur = step[cur, d]
            if cur < 0 or collapsed[cur] != 0 or height[cur] != 0:
                break
            k += 1
            if k >= h:
                n = emit(out, n, mtype, player, c, cur, -1)
    return n


@njit
def _first_stack(step, height, collapsed, c, d):
    """``(cell, distance)`` of the first stack from ``c`` along ``d`` (markers are passed
    over), or ``(-1, free distance)`` when a collapsed space or the edge comes first."""
    cur = c
    k = 0
    while True:
        cur = step[cur, d]
        if cur < 0 or collapsed[cur] != 0:
            return -1, k
        k += 1
        if height[cur] != 0:
            return cur, k


@njit
def _capture_segments(step, rings, height, collapsed, c, h, ch, player, mtype, out, n, probe):
    """Capture segments of a stack of height ``h`` and cap ``ch`` at ``c`` (RR-CANON-R101):
    the first stack along a direction is the target if its cap height <= ``ch``; any landing
    beyond it (empty or marker, no stack or collapsed space in between) at distance >= ``h``.
    Emits them, or with ``probe`` returns 1 at the first one."""
    for d in range(step.shape[1]):
        target, k = _first_stack(step, height, collapsed, c, d)
        if target < 0 or cap_height(rings, height, target) > ch:
            continue
        cur = target
        while True:
            cur = step[cur, d]
            if cur < 0 or collapsed[cur] != 0 or height[cur] != 0:
                break
            k += 1
            if k >= h:
                if probe:
                    return 1
                n = emit(out, n, mtype, player, c, cur, target)
    return n


@njit
def gen_captures(step, rings, height, collapsed, c, player, mtype, out, n):
    """Overtaking capture segments of the stack at ``c`` (see `_capture_segments`)."""
    return _capture_segments(step, rings, height, collapsed, c, height[c],
                             cap_height(rings, height, c), player, mtype, out, n, False)


@njit
def stack_can_capture(step, rings, height, collapsed, c, h, ch):
    """True if a stack of height ``h``, cap ``ch`` at ``c`` has an overtaking capture."""
    none = np.empty((0, 1), dtype=np.int32)
    return _capture_segments(step, rings, height, collapsed, c, h, ch, 0, 0, none, 0, True) > 0


@njit
def stack_can_act(step, rings, height, collapsed, c, h, ch):
    """True if a stack of height ``h`` and cap height ``ch`` at ``c`` would have any
    non-capture move or capture (the no-dead-placement test, RR-CANON-R081/R082).
    Target cap heights are read from the board; ``c`` itself is never a target."""
    for d in range(step.shape[1]):
        target, k = _first_stack(step, height, collapsed, c, d)
        if (k - 1 if target >= 0 else k) >= h:
            return True
    return stack_can_capture(step, rings, height, collapsed, c, h, ch)


@njit
def direction_between(step, a, b):
    """Direction index from ``a`` towards ``b`` along a straight ray, or -1."""
    for d in range(step.shape[1]):
        cur = step[a, d]
        while cur >= 0:
            if cur == b:
                return d
            cur = step[cur, d]
    return -1


@njit
def walk_markers(step, marker, collapsed, meta, frm, to, skip, player):
    """Marker effects on the open path from ``frm`` to ``to`` (RR-CANON-R092): opponent
    markers flip to ``player``, own markers collapse to ``player`` territory. Cell ``skip``
    (a capture target) is passed over untouched."""
    d = direction_between(step, frm, to)
    cur = step[frm, d]
    while cur != to:
        if cur != skip and marker[cur] != 0:
            if marker[cur] == player:
                marker[cur] = 0
                collapsed[cur] = player
                meta[M_TERR + player] += 1
            else:
                marker[cur] = player
        cur = step[cur, d]


@njit
def apply_movement(step, rings, height, marker, collapsed, order, meta, player, frm, to, target):
    """Apply a non-capture move (``target == -1``) or one capture segment.

    Leaves a departure marker, processes path markers, moves the stack, moves the top ring
    of ``target`` to the bottom of the moving stack, and, when landing on a marker, removes
    it and eliminates the top ring of the moved stack credited to ``player`` (RR-CANON-R102).
    """
    walk_markers(step, marker, collapsed, meta, frm, to, target, player)
    marker[frm] = player
    move_stack_rings(rings, height, frm, to)
    order[to] = meta[M_NEXT_ORDER]
    meta[M_NEXT_ORDER] += 1
    if target >= 0:
        th = height[target]
        colour = rings[target, th - 1]
        rings[target, th - 1] = 0
        height[target] = th - 1
        insert_bottom(rings, height, to, colour)
    if marker[to] != 0:
        marker[to] = 0
        eliminate_top(rings, height, meta, to, player, 1)
