"""Territory disconnection and region processing (RR-CANON-R140..R145).

A candidate region is a connected component (territory adjacency ``tadj``) of non-collapsed
cells bounded by collapsed spaces, the board edge and markers of one border colour ``B``
(R140, R141): components are flooded over cells that are neither collapsed nor ``B`` markers
(``border = B``; markers of other colours lie inside the region), or, for regions enclosed
by collapsed spaces alone, over cells that are neither collapsed nor markers (``border = 0``,
kept only when no marker touches the component). Regions are identified by
``(smallest cell, border)``; a cell set found under several borders is listed once.

A region is color-disconnected (R142) when RegionColors, the players controlling a stack in
it, is a strict subset of ActiveColors, the players with at least one ring anywhere on the
board (buried rings count). Hence an empty region (RegionColors = {}) is eligible whenever
any ring is on the board, also when a single colour has rings there; with no ring on the
board nothing is eligible. The mover may process an eligible region only while they control
a stack outside it (R143; after a recovery slide, a buried ring of theirs outside it, R114).

The reference engine departs from R142 in one case, where we follow the spec (README,
"Fidelity"; pinned step by step by ``tests/test_reference_traces.py``): while the board has
no marker it offers only regions in which exactly one colour controls stacks, dropping
empty regions and regions shared by several colours.

``choose_territory_option`` records carry ``F_A`` smallest cell, ``F_B`` border, ``F_C`` size.
A record with ``F_B == EXPLICIT_REGION`` names a region that is not a flood-fill component (a
contract vector applied without validation); its cells travel in ``scratch[:F_C, 0]``.
"""

import numpy as np

from ringrift_ray.game._jit import njit
from ringrift_ray.game.constants import (
    CHOOSE_TERRITORY_OPTION,
    F_A,
    F_B,
    F_C,
    M_BOARD_ELIM,
    M_ELIM,
    M_NUM_PLAYERS,
    M_TERR,
    M_TURN_RECOVERY,
)
from ringrift_ray.game.movement import emit
from ringrift_ray.game.stacks import has_buried_ring

EXPLICIT_REGION = -1


@njit
def _passable(marker, collapsed, c, border):
    if collapsed[c] != 0:
        return False
    if border > 0:
        return marker[c] != border
    return marker[c] == 0


@njit
def region_cells(tadj, marker, collapsed, rep, border):
    """Cells of the region containing ``rep`` for ``border`` (see module doc), sorted."""
    n = marker.shape[0]
    seen = np.zeros(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int32)
    out = np.empty(n, dtype=np.int32)
    top = 0
    k = 0
    stack[top] = rep
    top += 1
    seen[rep] = True
    while top > 0:
        top -= 1
        c = stack[top]
        out[k] = c
        k += 1
        for j in range(tadj.shape[1]):
            nb = tadj[c, j]
            if nb >= 0 and not seen[nb] and _passable(marker, collapsed, nb, border):
                seen[nb] = True
                stack[top] = nb
                top += 1
    return np.sort(out[:k])


@njit
def _active_mask(rings, height):
    mask = 0
    for c in range(height.shape[0]):
        for k in range(height[c]):
            mask |= 1 << rings[c, k]
    return mask


@njit
def _popcount(x):
    n = 0
    while x:
        n += x & 1
        x >>= 1
    return n


@njit
def find_regions(tadj, rings, height, marker, collapsed, num_players):
    """Eligible regions (R140..R142): `[K, 3]` int32 rows ``(smallest cell, border, size)``.

    ActiveColors are the ring colours anywhere on the board (``rings``/``height``), so with
    one colour on the board its empty regions qualify, and with none nothing does.
    """
    n = height.shape[0]
    active = _active_mask(rings, height)
    found = []
    n_active = _popcount(active)
    if n_active == 0:  # no rings on the board: no strict subset of ActiveColors exists
        return np.empty((0, 3), dtype=np.int32)
    seen_sets = []
    for border in range(0, num_players + 1):
        if border > 0:
            has = False
            for c in range(n):
                if marker[c] == border:
                    has = True
                    break
            if not has:
                continue
        label = np.zeros(n, dtype=np.bool_)
        for c in range(n):
            if label[c] or not _passable(marker, collapsed, c, border):
                continue
            cells = region_cells(tadj, marker, collapsed, c, border)
            ctrl = 0
            closed = True
            for i in range(cells.shape[0]):
                x = cells[i]
                label[x] = True
                if height[x] > 0:
                    ctrl |= 1 << rings[x, height[x] - 1]
            if border == 0:
                # enclosed by collapsed spaces (and edges) alone: no marker neighbours
                for i in range(cells.shape[0]):
                    for j in range(tadj.shape[1]):
                        nb = tadj[cells[i], j]
                        if nb >= 0 and collapsed[nb] == 0 and marker[nb] != 0:
                            closed = False
            if not closed or _popcount(ctrl) >= n_active:
                continue
            dup = False
            for s in seen_sets:
                if s.shape[0] == cells.shape[0] and np.all(s == cells):
                    dup = True
                    break
            if dup:
                continue
            seen_sets.append(cells)
            found.append((cells[0], border, cells.shape[0]))
    out = np.empty((len(found), 3), dtype=np.int32)
    for i in range(len(found)):
        out[i, 0] = found[i][0]
        out[i, 1] = found[i][1]
        out[i, 2] = found[i][2]
    return out


@njit
def _can_pay(rings, height, cells_mask, player, recovery):
    """Self-elimination prerequisite (R143): a stack outside the region controlled by the
    player, or after a recovery slide, a buried ring of the player outside it (R114)."""
    for c in range(height.shape[0]):
        if cells_mask[c] or height[c] == 0:
            continue
        if recovery:
            if has_buried_ring(rings, height, c, player):
                return True
        elif rings[c, height[c] - 1] == player:
            return True
    return False


@njit
def gen_territory(tadj, rings, height, marker, collapsed, meta, player, out, n):
    """``choose_territory_option`` moves for every region the player can pay for."""
    regions = find_regions(tadj, rings, height, marker, collapsed, meta[M_NUM_PLAYERS])
    mask = np.zeros(height.shape[0], dtype=np.bool_)
    for i in range(regions.shape[0]):
        cells = region_cells(tadj, marker, collapsed, regions[i, 0], regions[i, 1])
        mask[:] = False
        for x in cells:
            mask[x] = True
        if _can_pay(rings, height, mask, player, meta[M_TURN_RECOVERY] == 1):
            n = emit(out, n, CHOOSE_TERRITORY_OPTION, player, -1, -1, -1)
            out[n - 1, F_A] = regions[i, 0]
            out[n - 1, F_B] = regions[i, 1]
            out[n - 1, F_C] = regions[i, 2]
    return n


@njit
def region_border_colour(tadj, marker, collapsed, cells):
    """Border colour under which ``cells`` (sorted) form a region, tried in the order of
    `find_regions` (0 = collapsed spaces only, then each colour that has markers), so a
    region gets the border its generated move carries; -1 if they form no region."""
    present = np.zeros(8, dtype=np.bool_)
    present[0] = True
    for c in range(marker.shape[0]):
        present[marker[c]] = True
    for border in range(0, 8):
        if not present[border] or not _passable(marker, collapsed, cells[0], border):
            continue
        got = region_cells(tadj, marker, collapsed, cells[0], border)
        if got.shape[0] == cells.shape[0] and np.all(got == cells):
            return border
    return -1


@njit
def _enqueue_markers(adj_row, marker, inside, seen, queue, k):
    """Append the unseen marker cells outside the region among ``adj_row``; returns k."""
    for nb in adj_row:
        if nb >= 0 and not inside[nb] and marker[nb] != 0 and not seen[nb]:
            seen[nb] = True
            queue[k] = nb
            k += 1
    return k


@njit
def border_markers(tadj, badj, marker, inside):
    """Markers that collapse with a processed region (reference behaviour): markers of any
    colour outside the region next to it, grown through further markers along ``badj``."""
    n = marker.shape[0]
    seen = np.zeros(n, dtype=np.bool_)
    queue = np.empty(n, dtype=np.int32)
    k = 0
    for c in range(n):
        if inside[c]:
            k = _enqueue_markers(tadj[c], marker, inside, seen, queue, k)
    head = 0
    while head < k:
        k = _enqueue_markers(badj[queue[head]], marker, inside, seen, queue, k)
        head += 1
    return queue[:k]


@njit
def apply_region(tadj, badj, rings, height, marker, collapsed, meta, player, cells):
    """Process region ``cells`` for ``player`` (R145 steps 1-3): every ring inside is
    eliminated and credited to ``player``; the region and its border markers collapse to
    ``player``."""
    inside = np.zeros(marker.shape[0], dtype=np.bool_)
    for c in cells:
        inside[c] = True
    edge = border_markers(tadj, badj, marker, inside)
    for c in cells:
        for k in range(height[c]):
            colour = rings[c, k]
            rings[c, k] = 0
            meta[M_BOARD_ELIM + colour] += 1
            meta[M_ELIM + player] += 1
        height[c] = 0
    for c in cells:
        marker[c] = 0
        collapsed[c] = player
    for c in edge:
        marker[c] = 0
        collapsed[c] = player
    meta[M_TERR + player] += cells.shape[0] + edge.shape[0]
