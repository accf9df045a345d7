"""Pictures of positions (SVG / PNG), and the drawing steps ``html_replay.py`` builds on.

Drawn with matplotlib's object API (``Figure`` + the Agg / SVG canvases; never pyplot, never
a display). One board cell is one unit of drawing space:

| board            | cell shape                  | centre of cell                                |
|------------------|-----------------------------|-----------------------------------------------|
| square8/19       | unit square                 | ``(x, -y)``: row ``y = 0`` on top             |
| hex8 / hexagonal | pointy-top hexagon, width 1 | ``(x + z/2, -z sqrt(3)/2)``: ``z = -r`` on top |

so hex rows are rows of equal cube ``z`` (as in ``game/diagram.py``) and neighbouring hex
centres are 1 apart. Labels give ``x`` / ``y`` on square boards, ``z`` per hex row, and on
hex8 the cube key at the foot of every cell.

What a cell shows:

| picture                        | meaning                                                  |
|--------------------------------|----------------------------------------------------------|
| tower of flat coloured discs   | a stack, ring colours bottom -> top (top = controller);  |
|                                | the top ``MAX_DISCS`` rings; a badge with the height     |
|                                | from ``BADGE_HEIGHT`` rings up                           |
| small round dot                | a marker, in its owner's colour                          |
| whole cell in a pale shade     | a collapsed space (territory) of that player             |
| thick dark outline             | a position named by the move just played                 |

Players 1-4 are red, blue, green, purple; the legend lists each player's rings in hand,
eliminated rings (credited) and territory spaces, and marks the player to move.

A picture is drawn in two layers, which ``html_replay.py`` renders separately: the board
(``draw_board``: cells and labels, the same for every position of a game) and the position
(``draw_position``: pieces, highlighted move, title and legend).
"""

from __future__ import annotations

import io
import math
import textwrap
from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Patch, Rectangle, RegularPolygon

from ringrift_ray.game import Board, GameState, Move, move_from_text, state_from_reference
from ringrift_ray.game import constants as K
from ringrift_ray.json_file import read_json

PLAYER_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd")  # players 1..4
EMPTY_COLOR = "#f6f3ea"
EDGE_COLOR = "#9a9a9a"
MAX_DISCS = 6  # rings drawn per stack (the top ones)
BADGE_HEIGHT = 4  # stacks this tall or taller show their height in a badge
CAPTION_LINES = 2  # title lines a long caption (move text) may wrap onto
_TITLE_FONT = 10  # points; a character is about 0.6 of that wide
_HEX_R = 1 / math.sqrt(3)  # circumradius of a hexagon of width 1
_RC = {"svg.fonttype": "none", "svg.hashsalt": "ringrift-ray"}  # text as text, stable ids


def _color(player: int) -> str:
    return PLAYER_COLORS[player - 1]


def _pale(player: int, amount: float = 0.6) -> tuple[float, float, float]:
    """The player's colour mixed ``amount`` of the way towards white."""
    return tuple(c + (1 - c) * amount for c in to_rgb(_color(player)))


def cell_centers(b: Board) -> np.ndarray:
    """Drawing coordinates `[N, 2]` of the cell centres (table in the module docstring)."""
    c = b.coords.astype(float)
    if not b.is_hex:
        return np.stack([c[:, 0], -c[:, 1]], axis=1)
    return np.stack([c[:, 0] + c[:, 2] / 2, -c[:, 2] * math.sqrt(3) / 2], axis=1)


def _cell_patch(b: Board, xy) -> Rectangle | RegularPolygon:
    if b.is_hex:
        return RegularPolygon(xy, numVertices=6, radius=_HEX_R, orientation=0.0)
    return Rectangle((xy[0] - 0.5, xy[1] - 0.5), 1.0, 1.0)


def new_figure(b: Board, num_players: int) -> tuple[Figure, Axes, float]:
    """An empty figure sized to the board; returns (figure, axes, inches per cell).

    Bands from the top: title (a caption of up to ``CAPTION_LINES`` lines + the status
    line), board, legend (2 players per row), symbol key.
    """
    xy = cell_centers(b)
    x0, x1 = xy[:, 0].min() - 1.2, xy[:, 0].max() + 0.8
    y0, y1 = xy[:, 1].min() - 0.8, xy[:, 1].max() + 0.8
    inch = min(0.75, 7.0 / max(x1 - x0, y1 - y0)) if b.num_cells < 100 else 0.42
    top = 0.2 + 0.21 * (CAPTION_LINES + 1)
    bottom = 0.35 + 0.25 * ((num_players + 1) // 2)
    w, h = (x1 - x0) * inch, (y1 - y0) * inch
    fig = Figure(figsize=(max(w, 6.0), h + top + bottom), dpi=100)
    fw, fh = fig.get_size_inches()
    ax = fig.add_axes(((fw - w) / 2 / fw, bottom / fh, w / fw, h / fh))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig, ax, inch


def draw_board(ax: Axes, b: Board, inch: float) -> list[Artist]:
    """The empty cells and coordinate labels (the part every frame of a game shares).

    Returns:
        The artists drawn, so that a caller can hide them.
    """
    xy = cell_centers(b)
    cells = PatchCollection([_cell_patch(b, p) for p in xy], facecolor=EMPTY_COLOR,
                            edgecolor=EDGE_COLOR, linewidth=0.6)
    artists = [ax.add_collection(cells)]
    size = max(6.0, min(9.0, 13 * inch))
    style = {"fontsize": size, "color": "#555555", "va": "center"}
    if not b.is_hex:
        for i in range(b.size):
            artists.append(ax.text(i, 0.62, str(i), ha="center", **style))  # x across the top
            artists.append(ax.text(-0.6, -i, str(i), ha="right", **style))  # y down the left
        artists.append(ax.text(-0.6, 0.62, "y \\ x", ha="right", **style))
        return artists
    r, dz = b.radius, math.sqrt(3) / 2
    for z in range(-r, r + 1):  # row label left of each row of equal z
        x0 = max(-r, -r - z)
        artists.append(ax.text(x0 + z / 2 - 0.6, -z * dz, f"z={z}", ha="right", **style))
    if b.num_cells < 100:  # hex8: the cube key of every cell, small, at the cell's foot
        for (x, y, z), (px, py) in zip(b.coords, xy, strict=True):
            artists.append(ax.text(px, py - 0.4, f"{x},{y},{z}", fontsize=size * 0.6,
                                   color="#999999", ha="center", va="center"))
    return artists


def _move_cells(b: Board, move: Move | str | None) -> list[int]:
    if move is None:
        return []
    if isinstance(move, str):
        move = move_from_text(move)
    positions = [move.frm, move.cap, move.to]
    for many in (move.line, move.collapse, move.region, move.extract):
        positions.extend(many or ())
    keys = {",".join(str(v) for v in p) for p in positions if p is not None}
    return sorted(b.index[k] for k in keys if k in b.index)


def _title(state: GameState, caption: str | None, width: int = 80) -> str:
    """Caption (wrapped to ``width`` characters, at most ``CAPTION_LINES`` lines, the rest
    cut with an ellipsis) over the status line."""
    head = f"{state.board.name}, {state.num_players} players, turn {state.meta[K.M_TURN]}"
    if state.is_active:
        status = f"player {state.current_player} to move ({state.phase})"
    elif state.winner:
        status = f"finished: player {state.winner} wins ({state.victory_reason})"
    else:
        status = "finished: no winner"
    line = f"{head} - {status}"
    if not caption:
        return line
    wrapped = textwrap.wrap(caption, width, break_long_words=True, break_on_hyphens=False)
    if len(wrapped) > CAPTION_LINES:
        wrapped = wrapped[:CAPTION_LINES]
        wrapped[-1] = wrapped[-1][:width - 1] + "\u2026"
    return "\n".join(wrapped + [line])


def draw_position(fig: Figure, ax: Axes, state: GameState, inch: float,
                  move: Move | str | None, caption: str | None) -> list[Artist]:
    """Everything that changes between frames: spaces, pieces, title and legend.

    ``fig, ax, inch`` come from `new_figure`; ``move`` (outlined) and ``caption`` (first title
    line) are optional, as in `render_svg`.

    Returns:
        The artists drawn, so that a caller can remove them before the next frame.
    """
    b, artists = state.board, []
    xy = cell_centers(b)
    collapsed = np.flatnonzero(state.collapsed)
    if len(collapsed):
        artists.append(ax.add_collection(PatchCollection(
            [_cell_patch(b, xy[c]) for c in collapsed], edgecolor=EDGE_COLOR, linewidth=0.6,
            facecolor=[_pale(int(state.collapsed[c])) for c in collapsed])))
    marked = np.flatnonzero(state.marker)
    if len(marked):
        artists.append(ax.add_collection(PatchCollection(
            [Circle(xy[c], 0.17) for c in marked], edgecolor="white", linewidth=1.0,
            facecolor=[_color(int(state.marker[c])) for c in marked])))
    discs, colors = [], []
    badge = max(5.0, min(9.0, 12 * inch))
    for c in np.flatnonzero(state.height):
        rings = state.stack(int(c))
        shown = rings[-MAX_DISCS:]
        dh = min(0.16, 0.72 / len(shown))
        x, y = xy[c]
        y0 = y - dh * len(shown) / 2
        for i, p in enumerate(shown):
            discs.append(Rectangle((x - 0.3, y0 + i * dh), 0.6, dh))
            colors.append(_color(p))
        if len(rings) >= BADGE_HEIGHT:
            artists.append(ax.text(x + 0.3, y + 0.27, str(len(rings)), fontsize=badge,
                                   fontweight="bold", ha="center", va="center", zorder=5,
                                   bbox={"boxstyle": "circle,pad=0.15", "fc": "white",
                                         "ec": "#333333", "lw": 0.6}))
    if discs:
        artists.append(ax.add_collection(PatchCollection(
            discs, facecolor=colors, edgecolor="#222222", linewidth=0.5, zorder=3)))
    hi = _move_cells(b, move)
    if hi:
        artists.append(ax.add_collection(PatchCollection(
            [_cell_patch(b, xy[c]) for c in hi], facecolor="none", edgecolor="#111111",
            linewidth=2.2, zorder=4)))
    bottom = fig.axes[0].get_position().y0
    width = int(fig.get_figwidth() * 72 / (0.6 * _TITLE_FONT)) - 4  # characters per line
    artists.append(fig.text(0.5, 0.99, _title(state, caption, width), ha="center", va="top",
                            fontsize=_TITLE_FONT, linespacing=1.5))
    artists.append(fig.legend(handles=_legend_handles(state), loc="upper center",
                              bbox_to_anchor=(0.5, bottom), ncol=min(2, state.num_players),
                              fontsize=8.5, frameon=False, handlelength=1.2,
                              columnspacing=2.0))
    artists.append(fig.text(0.5, 0.01, _KEY, ha="center", va="bottom", fontsize=7.5,
                            color="#444444"))
    return artists


_KEY = ("stack: rings bottom -> top (badge: height)   dot: marker   "
        "pale cell: collapsed territory   outline: last move")


def _legend_handles(state: GameState) -> list[Patch]:
    handles = []
    for p in range(1, state.num_players + 1):
        mark = "\u25b6 " if state.is_active and p == state.current_player else ""  # to move
        label = (f"{mark}P{p}   in hand {state.rings_in_hand(p)}, "
                 f"eliminated {state.eliminated_rings(p)}, territory {state.territory(p)}")
        handles.append(Patch(facecolor=_color(p), edgecolor="#222222", label=label))
    return handles


def save_figure(fig: Figure, target: str | io.StringIO, fmt: str, dpi: int = 100,
                transparent: bool = False) -> None:
    """Write ``fig`` as ``fmt`` (``"svg"`` or ``"png"``) to a path or a text buffer (SVG: text
    stays text, element ids are stable, no date)."""
    with rc_context(_RC):
        meta = {"Date": None} if fmt == "svg" else {}
        fig.savefig(target, format=fmt, dpi=dpi, metadata=meta, transparent=transparent)


def render_svg(state: GameState, move: Move | str | None = None,
               caption: str | None = None) -> str:
    """SVG text of ``state``.

    Args:
        state: the position.
        move: optional move just played; the cells it names are outlined.
        caption: optional first title line (e.g. the move text).
    """
    fig, ax, inch = new_figure(state.board, state.num_players)
    draw_board(ax, state.board, inch)
    draw_position(fig, ax, state, inch, move, caption)
    buf = io.StringIO()
    save_figure(fig, buf, "svg")
    return buf.getvalue()


def save_picture(state: GameState, path: str | Path, move: Move | str | None = None,
                 caption: str | None = None, dpi: int = 100) -> None:
    """Write a picture of ``state`` to ``path``; the suffix picks the format.

    Raises:
        ValueError: a suffix other than ``.svg`` or ``.png``.
    """
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in ("svg", "png"):
        raise ValueError(f"{path}: picture format must be .svg or .png, got {fmt or 'none'!r}")
    fig, ax, inch = new_figure(state.board, state.num_players)
    draw_board(ax, state.board, inch)
    draw_position(fig, ax, state, inch, move, caption)
    save_figure(fig, str(path), fmt, dpi=dpi)


def load_state_file(path: str | Path) -> GameState:
    """A position from a reference-format JSON file: a serialized ``state`` object, or
    ``{"state": ..., "state_extras": ...}`` as in a trace step.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, or not a valid serialized state (message names the path and
            the offending field).
    """
    data = read_json(path, "state file")
    if isinstance(data, dict) and isinstance(data.get("state"), dict):
        data, extras = data["state"], data.get("state_extras")
    else:
        extras = None
    try:
        return state_from_reference(data, extras)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
