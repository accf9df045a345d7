"""Line detection and graduated line rewards (RR-CANON-R120..R123).

A line is a maximal run of one player's markers along a line axis (the first ``D/2``
directions of ``step``), identified by ``(start cell, direction, length)`` where ``start``
is the end the axis direction starts from. Eligible lines have length >= the board's
required line length ``L``.

Move records: ``process_line`` has ``F_A, F_B, F_C = start, dir, len``;
``choose_line_option`` adds ``F_D, F_E = collapse start, collapse length`` (the whole line
for Option 1, a length-``L`` segment for Option 2).
"""

import numpy as np

from ringrift_ray.game._jit import njit
from ringrift_ray.game.constants import (
    CHOOSE_LINE_OPTION,
    F_A,
    F_B,
    F_C,
    F_D,
    F_E,
    M_TERR,
    PROCESS_LINE,
)
from ringrift_ray.game.movement import emit


@njit
def find_lines(step, marker, player, min_len):
    """Eligible lines of ``player``: `[K, 3]` int32 rows ``(start, dir, len)``."""
    n_axes = step.shape[1] // 2
    out = np.empty((0, 3), dtype=np.int32)
    found = []
    for c in range(marker.shape[0]):
        if marker[c] != player:
            continue
        for a in range(n_axes):
            prev = step[c, a + n_axes]
            if prev >= 0 and marker[prev] == player:
                continue  # not the start of the run
            length = 1
            cur = step[c, a]
            while cur >= 0 and marker[cur] == player:
                length += 1
                cur = step[cur, a]
            if length >= min_len:
                found.append((c, a, length))
    if len(found) == 0:
        return out
    out = np.empty((len(found), 3), dtype=np.int32)
    for i in range(len(found)):
        out[i, 0] = found[i][0]
        out[i, 1] = found[i][1]
        out[i, 2] = found[i][2]
    return out


@njit
def has_line(step, marker, player, min_len):
    """True when ``player`` has at least one eligible line."""
    return find_lines(step, marker, player, min_len).shape[0] > 0


@njit
def gen_line_moves(step, marker, player, min_len, out, n):
    """``process_line`` and ``choose_line_option`` moves for every eligible line."""
    lines = find_lines(step, marker, player, min_len)
    for i in range(lines.shape[0]):
        start, d, length = lines[i, 0], lines[i, 1], lines[i, 2]
        n = emit(out, n, PROCESS_LINE, player, -1, -1, -1)
        out[n - 1, F_A] = start
        out[n - 1, F_B] = d
        out[n - 1, F_C] = length
        seg = start
        for _off in range(length - min_len + 1):
            n = emit(out, n, CHOOSE_LINE_OPTION, player, -1, -1, -1)
            out[n - 1, F_A] = start
            out[n - 1, F_B] = d
            out[n - 1, F_C] = length
            out[n - 1, F_D] = seg
            out[n - 1, F_E] = min_len
            seg = step[seg, d]
        if length > min_len:
            n = emit(out, n, CHOOSE_LINE_OPTION, player, -1, -1, -1)
            out[n - 1, F_A] = start
            out[n - 1, F_B] = d
            out[n - 1, F_C] = length
            out[n - 1, F_D] = start
            out[n - 1, F_E] = length
    return n


@njit
def collapse_run(step, marker, collapsed, meta, start, d, length, player):
    """Collapse ``length`` cells from ``start`` along ``d`` to ``player`` territory."""
    cur = start
    for _ in range(length):
        marker[cur] = 0
        collapsed[cur] = player
        meta[M_TERR + player] += 1
        cur = step[cur, d]


@njit
def line_cells(step, start, d, length):
    """Cells of a line, `[length]` int32."""
    cells = np.empty(length, dtype=np.int32)
    cur = start
    for i in range(length):
        cells[i] = cur
        cur = step[cur, d]
    return cells
