"""Network input planes and the fixed action space of each board.

Legend: ``B`` batch, ``C`` planes, ``G`` grid side, ``A`` actions, ``P`` players, ``N`` cells.

Grid. Square boards use their own grid: cell ``(x, y)`` at row ``y``, column ``x``
(``G = size``). Hex boards are embedded in axial coordinates on a ``(2r+1) x (2r+1)`` grid:
cube ``(x, y, z)`` at row ``z + r``, column ``x + r``; grid cells off the board are zero in
every plane except ``valid`` and are never legal actions.

Observation ``obs [B, C, G, G]`` float32, seat-relative: seat 0 is the player to move,
seat k the k-th player after them in turn order (4 seat slots for every player count).

| planes | content                                                                  |
|--------|--------------------------------------------------------------------------|
| 0      | valid cell                                                               |
| 1-4    | stack controlled by seat s                                               |
| 5      | stack height / 8                                                         |
| 6      | cap height / 8                                                           |
| 7-10   | buried rings of seat s (below the top) / 8                               |
| 11-14  | marker of seat s                                                         |
| 15-18  | collapsed space (territory) of seat s                                    |
| 19     | the stack that must move (after a placement) or is capturing (chain)     |
| 20     | pending line-reward elimination (broadcast)                              |
| 21     | pending territory self-elimination (broadcast)                           |
| 22-28  | phase one-hot: placement, movement, capture, chain, line, territory, FE  |
| 29-32  | rings in hand of seat s / rings per player (broadcast)                   |
| 33-36  | eliminated rings credited to seat s / victory threshold (broadcast)      |
| 37-40  | territory of seat s / territory minimum (broadcast)                      |
| 41     | the player to move has changed the board this turn (broadcast)           |
| 42     | the turn's movement was a recovery slide (broadcast)                     |

Action space: ``A = K * G * G + 10``; spatial action ``plane * G * G + row * G + col`` at the
anchor cell, then the global actions. ``D`` directions (8 square, 6 hex), ``Dmax`` the
longest ray (``G - 1``).

| planes          | move                                                  | anchor     |
|-----------------|-------------------------------------------------------|------------|
| 0-2             | place_ring n = 1..3                                   | to         |
| 3 + d*Dmax + k-1| move_stack / overtaking_capture /                     | from       |
|                 | continue_capture_segment: direction d, distance k to  |            |
|                 | the landing (a capture's target is the ray's 1st stack)|           |
| R + 2d + v      | recovery_slide direction d; v = 0 fallback /          | from       |
|                 | stack_strike / line Option 1, v = 1 line Option 2     |            |
| E               | eliminate_rings_from_stack (any ctx), forced_elimination | to      |
| Lp + a          | process_line, line axis a                             | line start |
| Lp + D/2 + a    | choose_line_option collapsing a lineLength window     | window start |
| Lp + D + a      | choose_line_option collapsing a whole overlength line | line start |
| T + b           | choose_territory_option, border colour b (0 = none)   | smallest cell |

Global actions (after the spatial block): skip_placement, no_placement_action,
no_movement_action, skip_capture, no_line_action, no_territory_action,
skip_territory_processing, skip_recovery, swap_sides, (reserved).

The index is injective over the legal moves of every state: a ray holds one landing per
distance (a capture when a stack lies before it, a move otherwise), the elimination context
is fixed by the phase, lines on one axis are disjoint, and regions are identified by their
smallest cell and the border colour that encloses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ringrift_ray.game import (
    Board,
    GameState,
    IllegalMoveError,
    board,
    cap_height,
    direction_between,
    find_legal_record,
    legal_move_records,
    njit,
    record_to_move,
)
from ringrift_ray.game import constants as K

NUM_PLANES = 43
SEATS = 4
ENCODING_VERSION = 1
GLOBAL_TYPES = (
    K.SKIP_PLACEMENT,
    K.NO_PLACEMENT_ACTION,
    K.NO_MOVEMENT_ACTION,
    K.SKIP_CAPTURE,
    K.NO_LINE_ACTION,
    K.NO_TERRITORY_ACTION,
    K.SKIP_TERRITORY_PROCESSING,
    K.SKIP_RECOVERY,
    K.SWAP_SIDES,
)
NUM_GLOBAL = 10


@dataclass(frozen=True, eq=False)
class ActionLayout:
    """The action space of one board (see the module table).

    Attributes:
        board: the geometry.
        grid: G, the side of the square grid.
        grid_pos: `[N]` int64 flat grid position ``row * G + col`` of each cell.
        num_dirs / max_dist: D and Dmax.
        plane_*: first plane of each action family.
        num_planes: K; num_actions: A.
    """

    board: Board
    grid: int
    grid_pos: np.ndarray
    num_dirs: int
    max_dist: int
    plane_recovery: int
    plane_elim: int
    plane_line: int
    plane_territory: int
    num_planes: int
    num_actions: int


@cache
def layout(board_type: str) -> ActionLayout:
    """Action layout of ``board_type`` (cached)."""
    b = board(board_type)
    if b.is_hex:
        r = b.radius
        g = 2 * r + 1
        pos = np.array([(z + r) * g + (x + r) for x, _y, z in b.coords], dtype=np.int64)
    else:
        g = b.size
        pos = np.array([y * g + x for x, y in b.coords], dtype=np.int64)
    d = b.num_dirs
    dmax = g - 1
    rec = 3 + d * dmax
    elim = rec + 2 * d
    line = elim + 1
    terr = line + 3 * (d // 2)
    k = terr + SEATS + 1
    return ActionLayout(b, g, pos, d, dmax, rec, elim, line, terr, k, k * g * g + NUM_GLOBAL)


def num_actions(board_type: str) -> int:
    """A for ``board_type``."""
    return layout(board_type).num_actions


@njit
def _record_index(rec, step, grid_pos, gg, dmax, p_rec, p_elim, p_line, p_terr, line_len,
                  spatial):
    t = rec[0]
    if t == K.PLACE_RING:
        return (rec[K.F_A] - 1) * gg + grid_pos[rec[3]]
    if t == K.MOVE_STACK or t == K.OVERTAKING_CAPTURE or t == K.CONTINUE_CAPTURE_SEGMENT:
        frm = rec[2]
        d = direction_between(step, frm, rec[3])
        k = 0
        cur = frm
        while cur != rec[3]:
            cur = step[cur, d]
            k += 1
        return (3 + d * dmax + k - 1) * gg + grid_pos[frm]
    if t == K.RECOVERY_SLIDE:
        d = direction_between(step, rec[2], rec[3])
        v = 1 if rec[K.F_B] == 2 else 0
        return (p_rec + 2 * d + v) * gg + grid_pos[rec[2]]
    if t == K.ELIMINATE_RINGS_FROM_STACK or t == K.FORCED_ELIMINATION_MOVE:
        return p_elim * gg + grid_pos[rec[3]]
    half = step.shape[1] // 2
    if t == K.PROCESS_LINE:
        return (p_line + rec[K.F_B]) * gg + grid_pos[rec[K.F_A]]
    if t == K.CHOOSE_LINE_OPTION:
        if rec[K.F_E] == line_len:
            return (p_line + half + rec[K.F_B]) * gg + grid_pos[rec[K.F_D]]
        return (p_line + 2 * half + rec[K.F_B]) * gg + grid_pos[rec[K.F_A]]
    if t == K.CHOOSE_TERRITORY_OPTION:
        return (p_terr + max(rec[K.F_B], 0)) * gg + grid_pos[rec[K.F_A]]
    for i in range(len(GLOBAL_TYPES)):
        if GLOBAL_TYPES[i] == t:
            return spatial + i
    return -1


@njit
def _records_indices(records, step, grid_pos, gg, dmax, p_rec, p_elim, p_line, p_terr,
                     line_len, spatial):
    out = np.empty(records.shape[0], dtype=np.int64)
    for i in range(records.shape[0]):
        out[i] = _record_index(records[i], step, grid_pos, gg, dmax, p_rec, p_elim, p_line,
                               p_terr, line_len, spatial)
    return out


def record_indices(state: GameState, records: np.ndarray) -> np.ndarray:
    """Action indices `[M]` int64 of move records generated for ``state``."""
    lay = layout(state.board.name)
    gg = lay.grid * lay.grid
    return _records_indices(records, state.board.step, lay.grid_pos, gg, lay.max_dist,
                            lay.plane_recovery, lay.plane_elim, lay.plane_line,
                            lay.plane_territory, int(state.meta[K.M_LINE_LEN]),
                            lay.num_planes * gg)


def legal_actions(state: GameState) -> tuple[np.ndarray, np.ndarray]:
    """``(indices [M] int64, records [M, MOVE_WIDTH] int32)`` of the legal moves."""
    records = legal_move_records(state)
    return record_indices(state, records), records


def legal_mask(state: GameState) -> np.ndarray:
    """`[A]` bool, True at the index of every legal move."""
    mask = np.zeros(num_actions(state.board.name), dtype=bool)
    mask[legal_actions(state)[0]] = True
    return mask


def move_to_index(state: GameState, move) -> int:
    """Action index of a legal ``move`` (a `Move` or canonical text) in ``state``.

    Raises:
        IllegalMoveError: the move is not legal in ``state`` (message names move and reason).
        ValueError: unparseable move text.
    """
    rec = find_legal_record(state, move)
    return int(record_indices(state, rec[None, :])[0])


def index_to_record(state: GameState, index: int) -> np.ndarray:
    """The legal move record at action ``index``.

    Raises:
        IllegalMoveError: no legal move has that index (the message names it and the state).
    """
    indices, records = legal_actions(state)
    hits = np.nonzero(indices == index)[0]
    if len(hits) == 0:
        raise IllegalMoveError(f"action {index!r} is not a legal move in this state ({state}): "
                               f"{len(indices)} legal actions")
    return records[hits[0]]


def index_to_move(state: GameState, index: int):
    """The legal `Move` at action ``index``.

    Raises:
        IllegalMoveError: no legal move has that index.
    """
    return record_to_move(state, index_to_record(state, index))


@njit
def _encode_one(rings, height, marker, collapsed, meta, grid_pos, valid, out):
    """Fill ``out [C, G*G]`` for one state (module plane table)."""
    num_p = meta[K.M_NUM_PLAYERS]
    cur = meta[K.M_CURRENT]
    seat = np.zeros(5, dtype=np.int64)  # player -> seat
    for p in range(1, num_p + 1):
        seat[p] = (p - cur) % num_p
    out[0, :] = valid
    for c in range(height.shape[0]):
        g = grid_pos[c]
        h = height[c]
        if h > 0:
            top = rings[c, h - 1]
            out[1 + seat[top], g] = 1.0
            out[5, g] = h / 8.0
            out[6, g] = cap_height(rings, height, c) / 8.0
            for k in range(h - 1):
                out[7 + seat[rings[c, k]], g] += 1.0 / 8.0
        if marker[c] > 0:
            out[11 + seat[marker[c]], g] = 1.0
        if collapsed[c] > 0:
            out[15 + seat[collapsed[c]], g] = 1.0
    focus = meta[K.M_CHAIN] if meta[K.M_CHAIN] >= 0 else meta[K.M_MUST_MOVE]
    if focus >= 0:
        out[19, grid_pos[focus]] = 1.0
    scalars = np.zeros(NUM_PLANES, dtype=np.float32)
    scalars[20] = 1.0 if meta[K.M_PENDING_LINE_ELIM] else 0.0
    scalars[21] = 1.0 if meta[K.M_PENDING_TERR_ELIM] else 0.0
    if meta[K.M_PHASE] < 7:
        scalars[22 + meta[K.M_PHASE]] = 1.0
    for p in range(1, num_p + 1):
        s = seat[p]
        scalars[29 + s] = meta[K.M_HAND + p] / meta[K.M_RINGS_PER_PLAYER]
        scalars[33 + s] = meta[K.M_ELIM + p] / meta[K.M_VICTORY_THRESHOLD]
        scalars[37 + s] = meta[K.M_TERR + p] / meta[K.M_TERRITORY_MIN]
    scalars[41] = 1.0 if meta[K.M_TURN_ACTED] else 0.0
    scalars[42] = 1.0 if meta[K.M_TURN_RECOVERY] else 0.0
    for i in range(20, NUM_PLANES):
        if scalars[i] != 0.0:
            for g in range(out.shape[1]):
                out[i, g] = scalars[i] * valid[g]


def encode(states: list[GameState]) -> np.ndarray:
    """Observation planes `[B, C, G, G]` float32 of states on one board (module table).

    Raises:
        ValueError: states from different boards.
    """
    if not states:
        raise ValueError("encode() needs at least one state")
    name = states[0].board.name
    lay = layout(name)
    gg = lay.grid * lay.grid
    valid = np.zeros(gg, dtype=np.float32)
    valid[lay.grid_pos] = 1.0
    out = np.zeros((len(states), NUM_PLANES, gg), dtype=np.float32)
    for i, s in enumerate(states):
        if s.board.name != name:
            raise ValueError(f"encode(): mixed boards {name} and {s.board.name}")
        _encode_one(s.rings, s.height, s.marker, s.collapsed, s.meta, lay.grid_pos, valid, out[i])
    return out.reshape(len(states), NUM_PLANES, lay.grid, lay.grid)


def seat_of(state: GameState, player: int) -> int:
    """Seat (0 = to move) of ``player`` in ``state``."""
    return (player - state.current_player) % state.num_players


def values_to_seats(state: GameState, values_by_player: np.ndarray) -> np.ndarray:
    """Reorder a `[P]` vector indexed by player-1 into seat order (seat 0 = to move)."""
    p = state.num_players
    cur = state.current_player - 1
    return np.asarray([values_by_player[(cur + k) % p] for k in range(p)])


def values_to_players(state: GameState, values_by_seat: np.ndarray) -> np.ndarray:
    """Inverse of `values_to_seats`: `[P]` seat-relative values -> indexed by player-1."""
    p = state.num_players
    cur = state.current_player - 1
    out = np.empty(p, dtype=np.asarray(values_by_seat).dtype)
    for k in range(p):
        out[(cur + k) % p] = values_by_seat[k]
    return out


# ---- compact states for the replay buffer ------------------------------------------------
COMPACT_FEATURES = 10
"""Per-cell uint8 features of `compact` (rows): controller seat + 1, height, cap height,
buried rings of seats 0-3, marker seat + 1, collapsed seat + 1, focus flag."""
COMPACT_SCALARS = NUM_PLANES - 20
"""The broadcast planes 20..42 of the plane table, float16."""


def compact(states: list[GameState]) -> tuple[np.ndarray, np.ndarray]:
    """Compact form of states for storage: ``(cells uint8 [B, 10, N], scalars float16
    [B, 23])``; `expand` rebuilds `encode(states)` up to float16 rounding of the broadcast
    scalars (heights and counts saturate at 255). 686 bytes per square8 position."""
    obs = encode(states)
    lay = layout(states[0].board.name)
    flat = obs.reshape(len(states), NUM_PLANES, -1)[:, :, lay.grid_pos]  # [B, C, N]
    cells = np.zeros((len(states), COMPACT_FEATURES, flat.shape[2]), dtype=np.uint8)
    seats = np.arange(1, SEATS + 1, dtype=np.float32)[None, :, None]
    cells[:, 0] = (flat[:, 1:5] * seats).sum(axis=1)
    cells[:, 1] = np.minimum(np.rint(flat[:, 5] * 8), 255)
    cells[:, 2] = np.minimum(np.rint(flat[:, 6] * 8), 255)
    cells[:, 3:7] = np.minimum(np.rint(flat[:, 7:11] * 8), 255)
    cells[:, 7] = (flat[:, 11:15] * seats).sum(axis=1)
    cells[:, 8] = (flat[:, 15:19] * seats).sum(axis=1)
    cells[:, 9] = flat[:, 19]
    scalars = flat[:, 20:, :].max(axis=2).astype(np.float16)
    return cells, scalars


def expand(board_type: str, cells: np.ndarray, scalars: np.ndarray) -> np.ndarray:
    """Observation planes `[B, C, G, G]` float32 from `compact` output (any board)."""
    lay = layout(board_type)
    b, _, n = cells.shape
    flat = np.zeros((b, NUM_PLANES, n), dtype=np.float32)
    flat[:, 0] = 1.0
    for s in range(SEATS):
        flat[:, 1 + s] = cells[:, 0] == s + 1
        flat[:, 11 + s] = cells[:, 7] == s + 1
        flat[:, 15 + s] = cells[:, 8] == s + 1
    flat[:, 5] = cells[:, 1] / 8.0
    flat[:, 6] = cells[:, 2] / 8.0
    flat[:, 7:11] = cells[:, 3:7] / 8.0
    flat[:, 19] = cells[:, 9]
    flat[:, 20:] = scalars.astype(np.float32)[:, :, None]
    out = np.zeros((b, NUM_PLANES, lay.grid * lay.grid), dtype=np.float32)
    out[:, :, lay.grid_pos] = flat
    return out.reshape(b, NUM_PLANES, lay.grid, lay.grid)
