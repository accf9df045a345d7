"""Board symmetries: D4 (8 elements) on square boards, D6 (12) on hex boards.

A symmetry ``g`` maps cells to cells and directions to directions; it acts on game states,
moves, observation planes and policies, so that ``encode(g(s)) == g(encode(s))`` and the
legal moves of ``g(s)`` are ``g`` of the legal moves of ``s``. Element 0 is the identity.

| board  | elements                                                                  |
|--------|---------------------------------------------------------------------------|
| square | rotations by 0/90/180/270 degrees, each optionally preceded by x-mirroring  |
| hex    | rotations by k*60 degrees (cube (x,y,z) -> (-z,-x,-y)), each optionally    |
|        | preceded by the mirror (x,y,z) -> (x,z,y)                                  |

Caveat: the reference engine's border-marker growth on hex8 (``Board.border_adj``) is not
D6-symmetric, so the *result* of a territory collapse on hex8 may differ between ``s`` and
``g(s)``; legal moves and every other rule are symmetric.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ringrift_ray.encoding import NUM_GLOBAL, layout, legal_actions
from ringrift_ray.game import Board, GameState, Move, board, record_to_move
from ringrift_ray.game import constants as K


@dataclass(frozen=True, eq=False)
class Symmetry:
    """One symmetry of a board.

    Attributes:
        board: the geometry.
        coord: ``tuple -> tuple`` coordinate map.
        cell_perm: `[N]` int64, ``cell_perm[c]`` = image of cell ``c``.
        grid_perm: `[G*G]` int64 image of each flat grid position (obs planes).
    """

    board: Board
    coord: object
    cell_perm: np.ndarray
    grid_perm: np.ndarray


def _square_maps(n: int):
    def rot(k, mirror):
        def f(p):
            x, y = p
            if mirror:
                x = n - 1 - x
            for _ in range(k):
                x, y = n - 1 - y, x
            return (x, y)
        return f
    return [rot(k, m) for m in (False, True) for k in range(4)]


def _hex_maps():
    def rot(k, mirror):
        def f(p):
            x, y, z = p
            if mirror:
                y, z = z, y
            for _ in range(k):
                x, y, z = -z, -x, -y
            return (x, y, z)
        return f
    return [rot(k, m) for m in (False, True) for k in range(6)]


@cache
def symmetries(board_type: str) -> tuple[Symmetry, ...]:
    """All symmetries of ``board_type`` (identity first)."""
    b = board(board_type)
    maps = _hex_maps() if b.is_hex else _square_maps(b.size)
    lay = layout(board_type)
    gg = lay.grid * lay.grid
    coords = [tuple(int(v) for v in c) for c in b.coords]
    out = []
    for f in maps:
        cell_perm = np.array([b.index[",".join(map(str, f(c)))] for c in coords], dtype=np.int64)
        grid_perm = np.full(gg, -1, dtype=np.int64)
        grid_perm[lay.grid_pos] = lay.grid_pos[cell_perm]
        free = sorted(set(range(gg)) - set(lay.grid_pos.tolist()))
        grid_perm[free] = free  # off-board grid cells are all-zero planes
        out.append(Symmetry(b, f, cell_perm, grid_perm))
    return tuple(out)


def apply_to_state(g: Symmetry, state: GameState) -> GameState:
    """``g(state)``: every cell-indexed array permuted, cell-valued meta fields mapped."""
    s = state.copy()
    perm = g.cell_perm
    for name in ("rings", "height", "marker", "collapsed", "order"):
        src = getattr(state, name)
        dst = getattr(s, name)
        dst[perm] = src
    for field in (K.M_MUST_MOVE, K.M_CHAIN):
        c = int(state.meta[field])
        if c >= 0:
            s.meta[field] = perm[c]
    return s


def apply_to_move(g: Symmetry, move: Move) -> Move:
    """``g(move)``: every position mapped (position lists re-sorted)."""
    def one(p):
        return None if p is None else tuple(g.coord(p))

    def many(ps):
        return None if ps is None else tuple(sorted(g.coord(p) for p in ps))

    return Move(type=move.type, player=move.player, frm=one(move.frm), to=one(move.to),
                cap=one(move.cap), n=move.n, line=many(move.line), collapse=many(move.collapse),
                region=many(move.region), ctx=move.ctx, mode=move.mode, opt=move.opt,
                extract=many(move.extract))


def apply_to_obs(g: Symmetry, obs: np.ndarray) -> np.ndarray:
    """``g(obs)`` for planes `[..., C, G, G]` (any leading batch dimensions)."""
    shape = obs.shape
    flat = obs.reshape(*shape[:-2], shape[-2] * shape[-1])
    out = np.empty_like(flat)
    out[..., g.grid_perm] = flat
    return out.reshape(shape)


def apply_to_policy(g: Symmetry, state: GameState, indices: np.ndarray) -> np.ndarray:
    """Map action ``indices`` of legal moves of ``state`` to the indices of the same moves
    in ``g(state)`` (e.g. a sparse policy target).

    Raises:
        ValueError: an index that is not a legal move of ``state``.
    """
    idx, recs = legal_actions(state)
    where = {int(i): k for k, i in enumerate(idx)}
    gs = apply_to_state(g, state)
    gidx, grecs = legal_actions(gs)
    target = {record_to_move(gs, r): int(i) for i, r in zip(gidx, grecs, strict=True)}
    out = np.empty(len(indices), dtype=np.int64)
    for j, i in enumerate(indices):
        if int(i) not in where:
            raise ValueError(f"action {int(i)} is not a legal move of the state")
        out[j] = target[apply_to_move(g, record_to_move(state, recs[where[int(i)]]))]
    return out


@cache
def action_maps(board_type: str) -> np.ndarray:
    """`[S, A]` int64 index maps: ``maps[g, a]`` = the index of action ``a`` under symmetry g
    for actions whose anchor is symmetric without the state (placement, movement, recovery,
    elimination, global actions); -1 for line and territory actions, whose anchors (the
    first cell of a line, the smallest cell of a region) depend on the position. Used for
    training-time augmentation of policy targets."""
    lay = layout(board_type)
    b = lay.board
    gg = lay.grid * lay.grid
    syms = symmetries(board_type)
    center = int(np.argmin(np.abs(b.coords - b.coords.mean(axis=0)).sum(axis=1)))
    maps = np.full((len(syms), lay.num_actions), -1, dtype=np.int64)
    for si, g in enumerate(syms):
        dperm = np.empty(lay.num_dirs, dtype=np.int64)
        for d in range(lay.num_dirs):
            a, c = g.cell_perm[center], g.cell_perm[b.step[center, d]]
            dperm[d] = next(e for e in range(lay.num_dirs) if b.step[a, e] == c)
        src = lay.grid_pos
        dst = lay.grid_pos[g.cell_perm]

        def plane(p_from, p_to, m=maps[si], s=src, t=dst):
            m[p_from * gg + s] = p_to * gg + t

        for n in range(3):
            plane(n, n)
        for d in range(lay.num_dirs):
            for k in range(lay.max_dist):
                plane(3 + d * lay.max_dist + k, 3 + dperm[d] * lay.max_dist + k)
            for v in range(2):
                plane(lay.plane_recovery + 2 * d + v, lay.plane_recovery + 2 * dperm[d] + v)
        plane(lay.plane_elim, lay.plane_elim)
        base = lay.num_planes * gg
        maps[si, base: base + NUM_GLOBAL] = np.arange(base, base + NUM_GLOBAL)
    return maps
