"""RingRift as the compiled search sees it: a `search.batched.CompiledGame` whose states are
rows of a preallocated pool and whose rules run as batched numba kernels (the engine's own
``gen_legal`` / ``apply_record`` kernels), plus a leaf evaluator that encodes pool rows.
Subtree reuse (`search.reuse`) finds a position's row by comparing states and moves rows.

Legend: ``S`` pool rows, ``N`` cells, ``R`` rings of the game, ``W`` move record width,
``n`` rows of one call, ``B`` trees, ``E`` edge slots per tree.

| pool array | shape / dtype | as in `GameState`                                   |
|------------|---------------|-----------------------------------------------------|
| rings      | [S, N, R] int8 | ring colours bottom -> top                         |
| height, marker, collapsed, order | [S, N] | stack heights, marker / collapsed owners, stamps |
| meta       | [S, META_SIZE] int32 | scalars and per-player counters              |

Actions are ``encoding.py`` indices, values absolute seats (as in `search.game_fns`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ringrift_ray.encoding import NUM_PLANES, _encode_one, _record_index, layout
from ringrift_ray.game import Board, GameState, board, njit, ranks
from ringrift_ray.game import constants as K
from ringrift_ray.game.turn import apply_record, gen_legal
from ringrift_ray.search.batched import CompiledGame
from ringrift_ray.search.game_fns import rank_values


class Pool(NamedTuple):
    """State rows (module table) and the kernels' work buffers."""

    board: Board
    rings: np.ndarray
    height: np.ndarray
    marker: np.ndarray
    collapsed: np.ndarray
    order: np.ndarray
    meta: np.ndarray
    out: np.ndarray  # [MAX_MOVES, W] int32: generated records
    scratch: np.ndarray  # [MAX_MOVES, W] int32: the engine's look-ahead buffer


@njit
def _copy_row(rings, height, marker, collapsed, order, meta, src, dst):
    """Row ``dst`` = row ``src``. Only the rings below each stack's height are copied: the
    engine never reads a ring slot at or above its stack's height (it writes slots before
    raising a height), so what a row held before is never seen, and a hexagonal row costs a
    few hundred bytes, not 90 KB."""
    for c in range(height.shape[1]):
        for k in range(height[src, c]):
            rings[dst, c, k] = rings[src, c, k]
    height[dst] = height[src]
    marker[dst] = marker[src]
    collapsed[dst] = collapsed[src]
    order[dst] = order[src]
    meta[dst] = meta[src]


@njit
def _apply_rows(step, tadj, badj, rings, height, marker, collapsed, order, meta, parents, rows,
                records, scratch, finished):
    """Row ``rows[j]`` = row ``parents[j]`` (`_copy_row`) with ``records[j]`` applied
    (parent < 0: keep)."""
    for j in range(rows.shape[0]):
        p, r = parents[j], rows[j]
        if p >= 0:
            _copy_row(rings, height, marker, collapsed, order, meta, p, r)
            apply_record(step, tadj, badj, rings[r], height[r], marker[r], collapsed[r],
                         order[r], meta[r], records[j], scratch)
        finished[j] = meta[r, K.M_ACTIVE] == 0


@njit
def _legal_rows(step, tadj, grid_pos, gg, dmax, p_rec, p_elim, p_line, p_terr, spatial, rings,
                height, marker, collapsed, order, meta, rows, trees, edge_top, edge_action,
                edge_payload, first, count, to_play, out):
    """Legal records and action indices of each row into its tree's edges (see
    `CompiledGame.legal`); returns the rows done."""
    cap = edge_action.shape[1]
    for j in range(rows.shape[0]):
        r, b = rows[j], trees[j]
        n = gen_legal(step, tadj, rings[r], height[r], marker[r], collapsed[r], order[r],
                      meta[r], out)
        s = edge_top[b]
        if s + n > cap:
            return j
        line_len = meta[r, K.M_LINE_LEN]
        for i in range(n):
            edge_payload[b, s + i] = out[i]
            edge_action[b, s + i] = _record_index(out[i], step, grid_pos, gg, dmax, p_rec,
                                                  p_elim, p_line, p_terr, line_len, spatial)
        first[j], count[j], to_play[j] = s, n, meta[r, K.M_CURRENT] - 1
        edge_top[b] = s + n
    return rows.shape[0]


@njit
def _move_rows(rings, height, marker, collapsed, order, meta, src, dst):
    """Row ``dst[j]`` = row ``src[j]`` (`_copy_row`), in order (``dst[j] <= src[j]``: in
    place is safe)."""
    for j in range(src.shape[0]):
        s, d = src[j], dst[j]
        if s != d:
            _copy_row(rings, height, marker, collapsed, order, meta, s, d)


@njit
def _find_row(rings, height, marker, collapsed, order, meta, rows, s_rings, s_height, s_marker,
              s_collapsed, s_order, s_meta):
    """Index of the first of ``rows`` equal to the state arrays ``s_*`` (rings compared
    below each stack's height), -1 if none."""
    for j in range(rows.shape[0]):
        r = rows[j]
        same = (meta[r] == s_meta).all() and (height[r] == s_height).all() \
            and (marker[r] == s_marker).all() and (collapsed[r] == s_collapsed).all() \
            and (order[r] == s_order).all()
        for c in range(height.shape[1]):
            if not same:
                break
            for k in range(s_height[c]):
                if rings[r, c, k] != s_rings[c, k]:
                    same = False
                    break
        if same:
            return j
    return -1


@njit
def _encode_rows(rings, height, marker, collapsed, meta, rows, grid_pos, valid, out):
    for j in range(rows.shape[0]):
        r = rows[j]
        _encode_one(rings[r], height[r], marker[r], collapsed[r], meta[r], grid_pos, valid,
                    out[j])


def new_pool(board_type: str, num_players: int, rows: int) -> Pool:
    """An empty pool of ``rows`` states (memory is touched only as rows are written)."""
    b = board(board_type)
    n = b.num_cells
    work = lambda: np.empty((K.MAX_MOVES, K.MOVE_WIDTH), dtype=np.int32)  # noqa: E731
    return Pool(b, np.empty((rows, n, b.rings_per_player * num_players), dtype=np.int8),
                np.empty((rows, n), dtype=np.int16), np.empty((rows, n), dtype=np.int8),
                np.empty((rows, n), dtype=np.int8), np.empty((rows, n), dtype=np.int32),
                np.empty((rows, K.META_SIZE), dtype=np.int32), work(), work())


def load(pool: Pool, row: int, state: GameState) -> None:
    """Copy a live ``state`` into row ``row``.

    Raises:
        ValueError: the game is over, or the state is from another board or player count.
    """
    if not state.is_active:
        raise ValueError("root is a terminal state; nothing to search")
    if state.board.name != pool.board.name or state.rings.shape != pool.rings.shape[1:]:
        raise ValueError(f"{state} does not fit a pool of {pool.board.name} "
                         f"{pool.rings.shape[1:]}")
    for name in ("rings", "height", "marker", "collapsed", "order", "meta"):
        getattr(pool, name)[row] = getattr(state, name)


def row_state(pool: Pool, row: int) -> GameState:
    """A `GameState` view of row ``row`` (no copy: do not modify it). Ring slots at or
    above a stack's height are unspecified in a pool (never read by the engine or
    `encoding.encode`); ``.copy()`` it before comparing whole arrays."""
    return GameState(pool.board, pool.rings[row], pool.height[row], pool.marker[row],
                     pool.collapsed[row], pool.order[row], pool.meta[row])


def _apply(pool: Pool, parents, rows, records) -> np.ndarray:
    b = pool.board
    finished = np.zeros(len(rows), dtype=bool)
    _apply_rows(b.step, b.tadj, b.border_adj, pool.rings, pool.height, pool.marker,
                pool.collapsed, pool.order, pool.meta, parents, rows, records, pool.scratch,
                finished)
    return finished


def _legal(pool: Pool, rows, trees, edge_top, edge_action, edge_payload, first, count,
           to_play) -> int:
    lay = layout(pool.board.name)
    gg = lay.grid * lay.grid
    return int(_legal_rows(pool.board.step, pool.board.tadj, lay.grid_pos, gg, lay.max_dist,
                           lay.plane_recovery, lay.plane_elim, lay.plane_line,
                           lay.plane_territory, lay.num_planes * gg, pool.rings, pool.height,
                           pool.marker, pool.collapsed, pool.order, pool.meta, rows, trees,
                           edge_top, edge_action, edge_payload, first, count, to_play,
                           pool.out))


def _move(pool: Pool, src, dst) -> None:
    _move_rows(pool.rings, pool.height, pool.marker, pool.collapsed, pool.order, pool.meta,
               np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64))


def _find(pool: Pool, rows, state: GameState) -> int:
    if state.board.name != pool.board.name or state.rings.shape != pool.rings.shape[1:]:
        return -1
    return int(_find_row(pool.rings, pool.height, pool.marker, pool.collapsed, pool.order,
                         pool.meta, np.asarray(rows, dtype=np.int64), state.rings, state.height,
                         state.marker, state.collapsed, state.order, state.meta))


def _terminal_values(pool: Pool, rows) -> np.ndarray:
    """Exact values of finished games (rare: Python per row, only at a game's end)."""
    p = int(pool.meta[rows[0], K.M_NUM_PLAYERS])
    return np.stack([rank_values(ranks(row_state(pool, int(r))), p) for r in rows])


def compiled_game(board_type: str, num_players: int) -> CompiledGame:
    """`CompiledGame` for RingRift on ``board_type`` with ``num_players`` players."""
    return CompiledGame(num_players, K.MOVE_WIDTH,
                        lambda rows: new_pool(board_type, num_players, rows), load, _apply,
                        _legal, _terminal_values, 3 * board(board_type).num_cells, _move, _find)


def encode_rows(pool: Pool, rows: np.ndarray) -> np.ndarray:
    """`encoding.encode` of the pool rows: planes `[n, C, G, G]` float32."""
    lay = layout(pool.board.name)
    gg = lay.grid * lay.grid
    valid = np.zeros(gg, dtype=np.float32)
    valid[lay.grid_pos] = 1.0
    out = np.zeros((len(rows), NUM_PLANES, gg), dtype=np.float32)
    _encode_rows(pool.rings, pool.height, pool.marker, pool.collapsed, pool.meta,
                 np.asarray(rows, dtype=np.int64), lay.grid_pos, valid, out)
    return out.reshape(len(rows), NUM_PLANES, lay.grid, lay.grid)


def leaf_evaluate(evaluate):
    """The compiled search's evaluator (`search.batched.LeafEvaluateFn`) for a
    `search.EvaluateFn`: with the network inside a `search.network_evaluate`, the rows are
    encoded by one compiled call and the seat-relative values rotated by one numpy call;
    any other ``evaluate`` gets `GameState` views of the rows."""
    infer = getattr(evaluate, "infer", None)

    def from_views(pool: Pool, rows):
        return evaluate([row_state(pool, int(r)) for r in rows])

    def from_planes(pool: Pool, rows):
        logits, values = infer(encode_rows(pool, rows))
        p = int(pool.meta[rows[0], K.M_NUM_PLAYERS])
        values = np.asarray(values)[:, :p]
        cur = pool.meta[rows, K.M_CURRENT].astype(np.int64) - 1
        absolute = np.empty_like(values)
        absolute[np.arange(len(rows))[:, None], (cur[:, None] + np.arange(p)) % p] = values
        return logits, absolute

    return from_views if infer is None else from_planes
