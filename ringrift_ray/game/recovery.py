"""Recovery action (RR-CANON-R110..R115): a player with no stacks, a marker and a buried
ring slides a marker to an adjacent cell.

The move set follows the reference engine exactly (its traces and README):
- if any slide forms a line of the player's markers (the first line axis that does, per
  slide), only line slides are legal: Option 1 (collapse the whole line, extract a buried
  ring) and, for an overlength line, Option 2 collapsing the first ``L`` markers of the run;
- otherwise fallback slides to empty cells and stack-strikes onto adjacent stacks.
The buried ring is extracted from the *first* stack holding one, in stack creation order
(``order``, the reference's insertion-ordered stack map): the reference names exactly that
stack (``extract=``), a simplification of R113's free choice that keeps every recovery move
one (marker, direction, option) decision.

Record fields of ``recovery_slide``: ``F_FROM, F_TO`` the slide; ``F_A`` mode (line /
fallback / stack_strike); ``F_B`` line option (0 none, 1, 2); ``F_C, F_D, F_E`` the formed
line ``(start, dir, len)``; ``F_X`` the extraction stack (fallback / stack-strike), the
first cell of the collapsed segment (Option 2), or -1 (Option 1: the stack is chosen when
the move is applied, after the collapse).
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
def first_extraction_stack(rings, height, order, player):
    """The earliest-created stack holding a buried ring of ``player`` (-1 if none)."""
    best = -1
    for c in range(height.shape[0]):
        if has_buried_ring(rings, height, c, player) and (best < 0 or order[c] < order[best]):
            best = c
    return best


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
    if not has_marker:
        return False
    for c in range(height.shape[0]):
        if has_buried_ring(rings, height, c, player):
            return True
    return False


@njit
def _run_through(step, marker, player, frm, dest, a):
    """Start and length of the run of ``player`` markers through ``dest`` along axis ``a``
    as if the marker at ``frm`` had slid to ``dest``."""
    half = step.shape[1] // 2
    start = dest
    length = 1
    cur = step[dest, a + half]
    while cur >= 0 and cur != frm and marker[cur] == player:
        start = cur
        length += 1
        cur = step[cur, a + half]
    cur = step[dest, a]
    while cur >= 0 and cur != frm and marker[cur] == player:
        length += 1
        cur = step[cur, a]
    return start, length


@njit
def formed_line(step, marker, player, frm, dest, min_len):
    """``(start, axis, len)`` of the first line axis on which the slide ``frm -> dest``
    forms a line of at least ``min_len`` markers, or ``(-1, -1, 0)``."""
    for a in range(step.shape[1] // 2):
        start, length = _run_through(step, marker, player, frm, dest, a)
        if length >= min_len:
            return start, a, length
    return -1, -1, 0


@njit
def _emit_slide(out, n, player, frm, dest, mode, opt, start, a, length, extract):
    n = emit(out, n, RECOVERY_SLIDE, player, frm, dest, -1)
    out[n - 1, F_A] = mode
    out[n - 1, F_B] = opt
    out[n - 1, F_C] = start
    out[n - 1, F_D] = a
    out[n - 1, F_E] = length
    out[n - 1, F_X] = extract
    return n


@njit
def gen_recovery(step, rings, height, marker, collapsed, order, player, min_len, out, n):
    """All ``recovery_slide`` moves of an eligible ``player`` (module doc, RR-CANON-R112)."""
    n0 = n
    for m in range(marker.shape[0]):
        if marker[m] != player:
            continue
        for d in range(step.shape[1]):
            dest = step[m, d]
            if dest < 0 or collapsed[dest] != 0 or height[dest] != 0 or marker[dest] != 0:
                continue
            start, a, length = formed_line(step, marker, player, m, dest, min_len)
            if a < 0:
                continue
            if length > min_len:  # Option 2 collapses the first L markers of the run
                n = _emit_slide(out, n, player, m, dest, MODE_LINE, 2, start, a, length, start)
            n = _emit_slide(out, n, player, m, dest, MODE_LINE, 1, start, a, length, -1)
    if n > n0:
        return n
    extract = first_extraction_stack(rings, height, order, player)
    for m in range(marker.shape[0]):
        if marker[m] != player:
            continue
        for d in range(step.shape[1]):
            dest = step[m, d]
            if dest < 0 or collapsed[dest] != 0 or marker[dest] != 0:
                continue
            mode = MODE_STACK_STRIKE if height[dest] > 0 else MODE_FALLBACK
            n = _emit_slide(out, n, player, m, dest, mode, 0, -1, -1, 0, extract)
    return n


@njit
def apply_recovery(step, rings, height, marker, collapsed, order, meta, mv):
    """Apply a ``recovery_slide`` record (RR-CANON-R115): no departure marker; a
    stack-strike removes the marker and eliminates the struck stack's top ring; fallback and
    Option 1 cost one buried ring, extracted from the earliest-created eligible stack."""
    player = mv[1]
    frm = mv[2]
    dest = mv[3]
    mode = mv[F_A]
    marker[frm] = 0
    if mode == MODE_STACK_STRIKE:
        eliminate_top(rings, height, meta, dest, player, 1)
    else:
        marker[dest] = player
    if mode == MODE_LINE:
        if mv[F_B] == 2:
            collapse_run(step, marker, collapsed, meta, mv[F_X], mv[F_D], meta[M_LINE_LEN], player)
            return
        collapse_run(step, marker, collapsed, meta, mv[F_C], mv[F_D], mv[F_E], player)
        extract = first_extraction_stack(rings, height, order, player)
    else:
        extract = mv[F_X]  # the stack the move names
    if extract >= 0:
        extract_bottommost(rings, height, meta, extract, player)
