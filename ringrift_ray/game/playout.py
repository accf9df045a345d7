"""Uniform-random playouts compiled end to end with numba (benchmarks, rollouts, fuzzing).

``playout_kernel`` plays from a position to the end, choosing uniformly among the records
``gen_legal`` emits (bookkeeping moves included), with numba's own seeded ``np.random``.
``replay_kernel`` re-applies a recorded sequence without generating moves, so that the time
of move application can be told apart from move generation.

Shapes: `N` cells, `R` rings of the game, `D` directions, `W = MOVE_WIDTH`, `L` move cap.
"""

from __future__ import annotations

import numpy as np

from ringrift_ray.game import constants as K
from ringrift_ray.game._jit import njit
from ringrift_ray.game.state import GameState
from ringrift_ray.game.turn import apply_record, gen_legal


@njit
def playout_kernel(step, tadj, badj, rings, height, marker, collapsed, order, meta, seed, max_moves,
                   out, scratch, trace):
    """Play uniformly random moves in place until the game ends or ``max_moves`` moves.

    Args:
        step, tadj, badj: board geometry `[N, D]`, `[N, 6]`, `[N, 8]` int32.
        rings, height, marker, collapsed, order, meta: the state arrays, modified in place.
        seed: seeds numba's ``np.random`` (per thread) before the first move.
        max_moves: cap on the moves applied by this call.
        out, scratch: `[MAX_MOVES, W]` int32 work buffers.
        trace: `[L, W]` int32; the first ``min(moves, L)`` chosen records are written here
            (pass a `[0, W]` array to record nothing).

    Returns:
        The number of moves applied.
    """
    np.random.seed(seed)
    moves = 0
    while meta[K.M_ACTIVE] and moves < max_moves:
        n = gen_legal(step, tadj, rings, height, marker, collapsed, order, meta, out)
        mv = out[np.random.randint(0, n)]
        if moves < trace.shape[0]:
            trace[moves] = mv
        apply_record(step, tadj, badj, rings, height, marker, collapsed, order, meta, mv, scratch)
        moves += 1
    return moves


@njit
def replay_kernel(step, tadj, badj, rings, height, marker, collapsed, order, meta, trace, n,
                  scratch):
    """Apply the first ``n`` records of ``trace`` `[L, W]` in place, generating nothing."""
    for i in range(n):
        apply_record(step, tadj, badj, rings, height, marker, collapsed, order, meta, trace[i],
                     scratch)


def work_buffer() -> np.ndarray:
    """A fresh `[MAX_MOVES, W]` int32 buffer for ``out`` / ``scratch``."""
    return np.empty((K.MAX_MOVES, K.MOVE_WIDTH), dtype=np.int32)


def random_playout(state: GameState, seed: int, max_moves: int = 1_000_000,
                   trace: np.ndarray | None = None) -> int:
    """Play ``state`` to the end in place with uniform random moves (compiled loop).

    Args:
        state: the position; modified in place (``state.copy()`` first to keep it).
        seed: random seed; the same seed and position give the same game.
        max_moves: stop after this many moves even if the game is still active.
        trace: optional `[L, W]` int32 array that receives the chosen records.

    Returns:
        The number of moves applied.
    """
    if trace is None:
        trace = np.empty((0, K.MOVE_WIDTH), dtype=np.int32)
    b = state.board
    return int(playout_kernel(b.step, b.tadj, b.border_adj, state.rings, state.height,
                              state.marker, state.collapsed, state.order, state.meta, seed,
                              max_moves, work_buffer(), work_buffer(), trace))
