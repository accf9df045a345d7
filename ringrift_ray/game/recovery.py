"""Recovery action (RR-CANON-R110..R115): a player with no stacks, a marker and a buried
ring slides a marker to an adjacent cell.

Record fields of ``recovery_slide``: ``F_FROM, F_TO`` the marker slide; ``F_A`` mode
(line / fallback / stack_strike); ``F_B`` line option (0 none, 1 collapse all + extraction,
2 collapse a ``L`` segment, no extraction); ``F_C, F_D, F_E`` the formed line
``(start, dir, len)``; ``F_X`` the extraction stack, or the collapse segment start for
option 2.
"""

from ringrift_ray.game._jit import njit
from ringrift_ray.game.constants import (
    F_A,
    F_B,
    F_C,
    F_D,
    F_E,
    F_X,
    M_LINE_LEN,
    MODE_FALLBACK,
    MODE_LINE,
    MODE_STACK_STRIKE,
    RECOVERY_SLIDE,
)
from ringrift_ray.game.lines import collapse_run
from ringrift_ray.game.movement import emit
from ringrift_ray.game.stacks import eliminate_top, extract_bottommost, has_buried_ring


@njit
def controls_any_stack(rings, height, player):
    for c in range(height.shape[0]):
        if height[c] > 0 and rings[c, height[c] - 1] == player:
            return True
    return False


@njit
def has_any_buried_ring(rings, height, player):
    for c in range(height.shape[0]):
        if has_buried_ring(rings, height, c, player):
            return True
    return False


@njit
def recovery_eligible(rings, height, marker, player):
    """No controlled stack, at least one marker and one buried ring (RR-CANON-R110)."""
    if controls_any_stack(rings, height, player):
        return False
    has_marker = False
    for c in range(marker.shape[0]):
        if marker[c] == player:
            has_marker = True
            break
    return has_marker and has_any_buried_ring(rings, height, player)


@njit
def _run_through(step, marker, player, frm, dest, a):
    """Length and start of the run of ``player`` markers through ``dest`` along axis ``a``,
    as if the marker at ``frm`` had slid to ``dest``."""
    half = step.shape[1] // 2
    start = dest
    cur = step[dest, a + half]
    while cur >= 0 and cur != frm and marker[cur] == player:
        start = cur
        cur = step[cur, a + half]
    length = 1
    cur = step[dest, a]
    while cur >= 0 and cur != frm and marker[cur] == player:
        length += 1
        cur = step[cur, a]
    # count cells from start to dest
    k = start
    while k != dest:
        length += 1
        k = step[k, a]
    return start, length


@njit
def formed_line(step, marker, player, frm, dest, min_len):
    """``(start, dir, len)`` of the first line the slide ``frm -> dest`` forms, or -1s."""
    for a in range(step.shape[1] // 2):
        start, length = _run_through(step, marker, player, frm, dest, a)
        if length >= min_len:
            return start, a, length
    return -1, -1, -1


@njit
def _emit_line_slides(step, rings, height, marker, player, min_len, frm, dest, out, n):
    """Line-mode slides of ``frm -> dest``; returns (n, formed a line?)."""
    formed = False
    for a in range(step.shape[1] // 2):
        start, length = _run_through(step, marker, player, frm, dest, a)
        if length < min_len:
            continue
        formed = True
        for ex in range(height.shape[0]):  # option 1: collapse all, extract one buried ring
            if has_buried_ring(rings, height, ex, player):
                n = emit(out, n, RECOVERY_SLIDE, player, frm, dest, -1)
                out[n - 1, F_A] = MODE_LINE
                out[n - 1, F_B] = 1
                out[n - 1, F_C] = start
                out[n - 1, F_D] = a
                out[n - 1, F_E] = length
                out[n - 1, F_X] = ex
        if length > min_len:  # option 2: any L-segment, no extraction
            seg = start
            for _ in range(length - min_len + 1):
                n = emit(out, n, RECOVERY_SLIDE, player, frm, dest, -1)
                out[n - 1, F_A] = MODE_LINE
                out[n - 1, F_B] = 2
                out[n - 1, F_C] = start
                out[n - 1, F_D] = a
                out[n - 1, F_E] = length
                out[n - 1, F_X] = seg
                seg = step[seg, a]
    return n, formed


@njit
def gen_recovery(step, rings, height, marker, collapsed, player, min_len, out, n):
    """All ``recovery_slide`` moves of an eligible ``player`` (RR-CANON-R112): line-forming
    slides, or, when no slide anywhere forms a line, fallback slides to empty cells and
    stack-strikes, each with every stack holding a buried ring as extraction choice."""
    n0 = n
    any_line = False
    for m in range(marker.shape[0]):
        if marker[m] != player:
            continue
        for d in range(step.shape[1]):
            dest = step[m, d]
            if dest < 0 or collapsed[dest] != 0 or height[dest] != 0 or marker[dest] != 0:
                continue
            n, formed = _emit_line_slides(step, rings, height, marker, player, min_len, m, dest,
                                          out, n)
            any_line = any_line or formed
    if any_line:
        return n
    n = n0
    for m in range(marker.shape[0]):
        if marker[m] != player:
            continue
        for d in range(step.shape[1]):
            dest = step[m, d]
            if dest < 0 or collapsed[dest] != 0 or marker[dest] != 0:
                continue
            mode = MODE_STACK_STRIKE if height[dest] > 0 else MODE_FALLBACK
            for ex in range(height.shape[0]):
                if has_buried_ring(rings, height, ex, player):
                    n = emit(out, n, RECOVERY_SLIDE, player, m, dest, -1)
                    out[n - 1, F_A] = mode
                    out[n - 1, F_B] = 0
                    out[n - 1, F_X] = ex
    return n


@njit
def apply_recovery(step, rings, height, marker, collapsed, meta, mv):
    """Apply a ``recovery_slide`` record (RR-CANON-R115)."""
    player = mv[1]
    frm = mv[2]
    dest = mv[3]
    mode = mv[F_A]
    marker[frm] = 0
    if mode == MODE_STACK_STRIKE:
        eliminate_top(rings, height, meta, dest, player, 1)
        extract_bottommost(rings, height, meta, mv[F_X], player)
        return
    marker[dest] = player
    if mode == MODE_FALLBACK:
        extract_bottommost(rings, height, meta, mv[F_X], player)
        return
    min_len = meta[M_LINE_LEN]
    if mv[F_B] == 2:
        collapse_run(step, marker, collapsed, meta, mv[F_X], mv[F_D], min_len, player)
    else:
        collapse_run(step, marker, collapsed, meta, mv[F_C], mv[F_D], mv[F_E], player)
        extract_bottommost(rings, height, meta, mv[F_X], player)
