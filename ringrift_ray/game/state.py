"""Game state as fixed-shape numpy arrays, cheap to copy for tree search.

See ``constants.py`` for the array table and the ``meta`` layout. Players are numbered
1..P as in the reference serialization; ``rings`` holds colours bottom -> top.
"""

from __future__ import annotations

import numpy as np

from ringrift_ray.game import constants as K
from ringrift_ray.game.geometry import Board, board


class GameState:
    """One RingRift position. Treat as immutable outside the engine: ``apply_move`` copies.

    Attributes:
        board: static geometry (`Board`).
        rings: `[N, R]` int8 ring colours bottom -> top (R = total rings of the game).
        height: `[N]` int16 stack heights.
        marker: `[N]` int8 marker owners (0 = none).
        collapsed: `[N]` int8 collapsed-space owners (0 = none).
        order: `[N]` int32 creation stamps of the stacks (the reference's stack-map order).
        meta: `[META_SIZE]` int32 scalars and per-player counters.
    """

    __slots__ = ("board", "rings", "height", "marker", "collapsed", "order", "meta", "__weakref__")

    def __init__(self, board_: Board, rings, height, marker, collapsed, order, meta):
        self.board = board_
        self.rings = rings
        self.height = height
        self.marker = marker
        self.collapsed = collapsed
        self.order = order
        self.meta = meta

    def copy(self) -> GameState:
        return GameState(
            self.board,
            self.rings.copy(),
            self.height.copy(),
            self.marker.copy(),
            self.collapsed.copy(),
            self.order.copy(),
            self.meta.copy(),
        )

    # ---- read-only views used by callers -------------------------------------------------
    @property
    def num_players(self) -> int:
        return int(self.meta[K.M_NUM_PLAYERS])

    @property
    def current_player(self) -> int:
        return int(self.meta[K.M_CURRENT])

    @property
    def phase(self) -> str:
        return K.PHASE_NAMES[self.meta[K.M_PHASE]]

    @property
    def is_active(self) -> bool:
        return bool(self.meta[K.M_ACTIVE])

    @property
    def winner(self) -> int | None:
        w = int(self.meta[K.M_WINNER])
        return w or None

    @property
    def victory_reason(self) -> str | None:
        return K.VICTORY_REASON_NAMES[self.meta[K.M_VICTORY_REASON]] or None

    def rings_in_hand(self, player: int) -> int:
        return int(self.meta[K.M_HAND + player])

    def eliminated_rings(self, player: int) -> int:
        """Rings credited to ``player`` as eliminated (players[].eliminatedRings)."""
        return int(self.meta[K.M_ELIM + player])

    def territory(self, player: int) -> int:
        return int(self.meta[K.M_TERR + player])

    def stack(self, cell: int) -> list[int]:
        """Ring colours of the stack at ``cell``, bottom -> top (empty list if none)."""
        return [int(r) for r in self.rings[cell, : self.height[cell]]]

    def progress(self) -> int:
        """S = markers + collapsed spaces + eliminated rings (RR-CANON-R191)."""
        p = self.num_players
        elim = int(self.meta[K.M_BOARD_ELIM + 1 : K.M_BOARD_ELIM + 1 + p].sum())
        return int(np.count_nonzero(self.marker) + np.count_nonzero(self.collapsed) + elim)

    def __repr__(self) -> str:
        return (
            f"GameState({self.board.name}, {self.num_players}p, player={self.current_player}, "
            f"phase={self.phase}, active={self.is_active})"
        )


def new_game(board_type: str, num_players: int, *, swap_rule: bool = False) -> GameState:
    """The canonical empty starting position: player 1 to move in ring_placement.

    Args:
        board_type: one of ``square8``, ``square19``, ``hex8``, ``hexagonal``.
        num_players: 2, 3 or 4.
        swap_rule: enable the 2-player pie rule (``swap_sides``, RR-CANON-R180).

    Raises:
        ValueError: unknown board type, a player count outside 2..4, or the pie rule
            asked for with more than 2 players.
    """
    b = board(board_type)
    if num_players not in (2, 3, 4):
        raise ValueError(f"num_players must be 2, 3 or 4, got {num_players!r}")
    if swap_rule and num_players != 2:
        raise ValueError("the swap rule (pie rule) exists only in 2-player games")
    n = b.num_cells
    meta = np.zeros(K.META_SIZE, dtype=np.int32)
    meta[K.M_NUM_PLAYERS] = num_players
    meta[K.M_CURRENT] = 1
    meta[K.M_PHASE] = K.RING_PLACEMENT
    meta[K.M_ACTIVE] = 1
    meta[K.M_MUST_MOVE] = -1
    meta[K.M_CHAIN] = -1
    meta[K.M_TURN] = 1
    meta[K.M_LINE_LEN] = b.line_length(num_players)
    meta[K.M_VICTORY_THRESHOLD] = b.victory_threshold(num_players)
    meta[K.M_TERRITORY_MIN] = b.territory_minimum(num_players)
    meta[K.M_RINGS_PER_PLAYER] = b.rings_per_player
    meta[K.M_SWAP_RULE] = int(swap_rule)
    meta[K.M_LPS_REQUIRED] = 3
    meta[K.M_LAST_TYPE] = -1
    for p in range(1, num_players + 1):
        meta[K.M_HAND + p] = b.rings_per_player
        meta[K.M_LPS_MASK + p] = -1
    return GameState(
        b,
        np.zeros((n, b.rings_per_player * num_players), dtype=np.int8),
        np.zeros(n, dtype=np.int16),
        np.zeros(n, dtype=np.int8),
        np.zeros(n, dtype=np.int8),
        np.zeros(n, dtype=np.int32),
        meta,
    )
