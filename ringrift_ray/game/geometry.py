"""Board geometry: cells, coordinates, directions and adjacency tables (RR-CANON-R001..R003).

Coordinate systems

| board      | coordinates            | cells | position key | cell index order          |
|------------|------------------------|-------|--------------|---------------------------|
| square8    | (x, y), 0 <= x, y < 8  | 64    | ``"x,y"``    | sorted by (x, y)          |
| square19   | (x, y), 0 <= x, y < 19 | 361   | ``"x,y"``    | sorted by (x, y)          |
| hex8       | cube (x, y, z), r = 4  | 61    | ``"x,y,z"``  | sorted by (x, y, z)       |
| hexagonal  | cube (x, y, z), r = 12 | 469   | ``"x,y,z"``  | sorted by (x, y, z)       |

Cells are numbered ``0..N-1`` in the order of their integer coordinate tuples, so sorting
cell indices sorts positions the way canonical move text does (reference README).

Directions: square boards have 8 (Moore), hex boards 6 (cube). Direction ``d`` and
``d + D/2`` are opposite; the first ``D/2`` are the line axes. ``step[c, d]`` is the
neighbour of cell ``c`` in direction ``d`` or -1 off the board. Territory adjacency
(``tadj``) is Von Neumann (4) on square boards and hex (6) on hex boards, padded with -1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

BOARD_TYPES = ("square8", "square19", "hex8", "hexagonal")

SQUARE_DIRS = ((1, 0), (0, 1), (1, 1), (1, -1), (-1, 0), (0, -1), (-1, -1), (-1, 1))
HEX_DIRS = ((1, -1, 0), (1, 0, -1), (0, 1, -1), (-1, 1, 0), (-1, 0, 1), (0, -1, 1))

# board type -> (size, rings per player, hex?)
_BOARD_PARAMS = {
    "square8": (8, 18, False),
    "square19": (19, 72, False),
    "hex8": (9, 18, True),
    "hexagonal": (25, 96, True),
}


@dataclass(frozen=True, eq=False)
class Board:
    """Static geometry of one board type.

    Attributes:
        name: board type, one of ``BOARD_TYPES``.
        size: ``size`` field of the serialized board (square side, or 2r+1 on hex).
        is_hex: cube coordinates when True.
        coords: `[N, 2]` (square) or `[N, 3]` (hex) int64 coordinates per cell.
        keys: position key per cell (``"x,y"`` / ``"x,y,z"``).
        positions: coordinate tuple per cell, as a `Move` names it (``(x, y)`` / ``(x, y, z)``).
        step: `[N, D]` int32 neighbour per direction, -1 off the board.
        tadj: `[N, 6]` int32 territory neighbours, -1 padded.
        rings_per_player: own-colour supply cap (RR-CANON-R020).
        border_adj: `[N, 8]` int32 steps used to grow the collapsing border-marker set of a
            processed territory region, -1 padded (the reference engine's behaviour: Moore
            on square boards, the eight (dx, dy) steps on hex8's (x, y), none on hexagonal).
    """

    name: str
    size: int
    is_hex: bool
    coords: np.ndarray
    keys: tuple[str, ...]
    step: np.ndarray
    tadj: np.ndarray
    rings_per_player: int
    border_adj: np.ndarray
    index: dict[str, int] = field(repr=False)
    positions: tuple[tuple[int, ...], ...] = field(repr=False)

    @property
    def num_cells(self) -> int:
        return len(self.keys)

    @property
    def num_dirs(self) -> int:
        return self.step.shape[1]

    @property
    def radius(self) -> int:
        return (self.size - 1) // 2

    def line_length(self, num_players: int) -> int:
        """Required line length (RR-CANON-R120): 3 on square8/hex8 with 3-4 players, else 4."""
        if self.name in ("square8", "hex8") and num_players >= 3:
            return 3
        return 4

    def victory_threshold(self, num_players: int) -> int:
        """Ring-elimination threshold round(rpp * (2/3 + (P-1)/3)) (RR-CANON-R061)."""
        return round(self.rings_per_player * (2 / 3 + (num_players - 1) / 3))

    def territory_minimum(self, num_players: int) -> int:
        """Territory victory minimum floor(N / P) + 1 (RR-CANON-R062)."""
        return self.num_cells // num_players + 1

    def cell(self, key: str) -> int:
        """Cell index of a position key; raises ValueError for a key not on this board."""
        try:
            return self.index[key]
        except KeyError:
            raise ValueError(f"position {key!r} is not on board {self.name}") from None


def _square_cells(size: int) -> list[tuple[int, ...]]:
    return [(x, y) for x in range(size) for y in range(size)]


def _hex_cells(radius: int) -> list[tuple[int, ...]]:
    cells = []
    for x in range(-radius, radius + 1):
        for y in range(-radius, radius + 1):
            z = -x - y
            if abs(z) <= radius:
                cells.append((x, y, z))
    return cells


@cache
def board(name: str) -> Board:
    """The geometry of board ``name``; raises ValueError for an unknown board type."""
    if name not in _BOARD_PARAMS:
        raise ValueError(f"unknown board type {name!r}; expected one of {BOARD_TYPES}")
    size, rpp, is_hex = _BOARD_PARAMS[name]
    cells = _hex_cells((size - 1) // 2) if is_hex else _square_cells(size)
    index = {c: i for i, c in enumerate(cells)}
    dirs = HEX_DIRS if is_hex else SQUARE_DIRS
    step = np.full((len(cells), len(dirs)), -1, dtype=np.int32)
    for i, c in enumerate(cells):
        for d, delta in enumerate(dirs):
            step[i, d] = index.get(tuple(a + b for a, b in zip(c, delta, strict=True)), -1)
    tdirs = range(6) if is_hex else (0, 1, 4, 5)  # hex: all 6; square: orthogonals
    tadj = np.full((len(cells), 6), -1, dtype=np.int32)
    for i in range(len(cells)):
        for k, d in enumerate(tdirs):
            tadj[i, k] = step[i, d]
    border_adj = np.full((len(cells), 8), -1, dtype=np.int32)
    if not is_hex:
        border_adj[:] = step
    elif name == "hex8":
        moore = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]
        for i, (x, y, _z) in enumerate(cells):
            for k, (dx, dy) in enumerate(moore):
                border_adj[i, k] = index.get((x + dx, y + dy, -(x + dx) - (y + dy)), -1)
    keys = tuple(",".join(str(v) for v in c) for c in cells)
    return Board(
        name=name,
        size=size,
        is_hex=is_hex,
        coords=np.array(cells, dtype=np.int64),
        keys=keys,
        step=step,
        tadj=tadj,
        rings_per_player=rpp,
        border_adj=border_adj,
        index={k: i for i, k in enumerate(keys)},
        positions=tuple(cells),
    )
