"""Pictures of positions (SVG / PNG) and self-contained HTML replays of whole games.

Drawn with matplotlib's object API (``Figure`` + the Agg / SVG canvases; never pyplot, never
a display). One board cell is one unit of drawing space:

| board            | cell shape                  | centre of cell                                |
|------------------|-----------------------------|-----------------------------------------------|
| square8/19       | unit square                 | ``(x, -y)``: row ``y = 0`` on top             |
| hex8 / hexagonal | pointy-top hexagon, width 1 | ``(x + z/2, -z sqrt(3)/2)``: ``z = -r`` on top |

so hex rows are rows of equal cube ``z`` (as in ``game/render.py``) and neighbouring hex
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
"""

from __future__ import annotations

import html
import io
import json
import math
from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.collections import PatchCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Patch, Rectangle, RegularPolygon

from ringrift_ray.game import (
    GameState,
    IllegalMoveError,
    Move,
    apply_move,
    apply_record,
    is_terminal,
    legal_move_records,
    move_from_text,
    move_to_text,
    new_game,
)
from ringrift_ray.game import constants as K
from ringrift_ray.game.geometry import Board
from ringrift_ray.game.interop import state_from_reference
from ringrift_ray.game.records import record_to_move

PLAYER_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd")  # players 1..4
EMPTY_COLOR = "#f6f3ea"
EDGE_COLOR = "#9a9a9a"
MAX_DISCS = 6  # rings drawn per stack (the top ones)
BADGE_HEIGHT = 4  # stacks this tall or taller show their height in a badge
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


def _new_figure(b: Board, num_players: int) -> tuple[Figure, object, float]:
    """An empty figure sized to the board; returns (figure, axes, inches per cell).

    Bands from the top: title (2 lines), board, legend (2 players per row), symbol key.
    """
    xy = cell_centers(b)
    x0, x1 = xy[:, 0].min() - 1.2, xy[:, 0].max() + 0.8
    y0, y1 = xy[:, 1].min() - 0.8, xy[:, 1].max() + 0.8
    inch = min(0.75, 7.0 / max(x1 - x0, y1 - y0)) if b.num_cells < 100 else 0.42
    top, bottom = 0.55, 0.35 + 0.25 * ((num_players + 1) // 2)
    w, h = (x1 - x0) * inch, (y1 - y0) * inch
    fig = Figure(figsize=(max(w, 6.0), h + top + bottom), dpi=100)
    fw, fh = fig.get_size_inches()
    ax = fig.add_axes(((fw - w) / 2 / fw, bottom / fh, w / fw, h / fh))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig, ax, inch


def _draw_board(ax, b: Board, inch: float) -> list:
    """The empty cells and coordinate labels (the part every frame of a game shares)."""
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


def _title(state: GameState, caption: str | None) -> str:
    head = f"{state.board.name}, {state.num_players} players, turn {state.meta[K.M_TURN]}"
    if state.is_active:
        status = f"player {state.current_player} to move ({state.phase})"
    elif state.winner:
        status = f"finished: player {state.winner} wins ({state.victory_reason})"
    else:
        status = "finished: no winner"
    line = f"{head} - {status}"
    return f"{caption}\n{line}" if caption else line


def _draw_position(fig, ax, state: GameState, inch: float, move, caption) -> list:
    """Everything that changes between frames: spaces, pieces, title and legend."""
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
    artists.append(fig.text(0.5, 0.99, _title(state, caption), ha="center", va="top",
                            fontsize=10, linespacing=1.5))
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


def _save(fig: Figure, target, fmt: str, dpi: int = 100, transparent: bool = False) -> None:
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
    fig, ax, inch = _new_figure(state.board, state.num_players)
    _draw_board(ax, state.board, inch)
    _draw_position(fig, ax, state, inch, move, caption)
    buf = io.StringIO()
    _save(fig, buf, "svg")
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
    fig, ax, inch = _new_figure(state.board, state.num_players)
    _draw_board(ax, state.board, inch)
    _draw_position(fig, ax, state, inch, move, caption)
    _save(fig, str(path), fmt, dpi=dpi)


def replay_from_moves(board_type: str, num_players: int, moves: list[str],
                      swap_rule: bool = False) -> list[GameState]:
    """The ``len(moves) + 1`` states of a game given by canonical move texts.

    Raises:
        IllegalMoveError: a move is not legal where it is played (the message gives its
            1-based number and text).
        ValueError: unparseable move text, or bad board type / player count.
    """
    states = [new_game(board_type, num_players, swap_rule=swap_rule)]
    for i, text in enumerate(moves, start=1):
        try:
            states.append(apply_move(states[-1], text))
        except IllegalMoveError as e:
            raise IllegalMoveError(f"move {i} ({text!r}): {e}") from None
        except ValueError as e:
            raise ValueError(f"move {i} ({text!r}): {e}") from None
    return states


def random_game(board_type: str, num_players: int, seed: int,
                max_moves: int | None = None) -> tuple[list[GameState], list[str]]:
    """A uniform-random game (numpy ``default_rng(seed)``): its states and move texts."""
    rng = np.random.default_rng(seed)
    states, moves = [new_game(board_type, num_players)], []
    while not is_terminal(states[-1]) and (max_moves is None or len(moves) < max_moves):
        records = legal_move_records(states[-1])
        rec = records[rng.integers(len(records))]
        moves.append(move_to_text(record_to_move(states[-1], rec)))
        states.append(apply_record(states[-1], rec))
    return states, moves


def load_state_file(path: str | Path) -> GameState:
    """A position from a reference-format JSON file: a serialized ``state`` object, or
    ``{"state": ..., "state_extras": ...}`` as in a trace step.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, or not a valid serialized state (message names the path and
            the offending field).
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if isinstance(data, dict) and isinstance(data.get("state"), dict):
        data, extras = data["state"], data.get("state_extras")
    else:
        extras = None
    try:
        return state_from_reference(data, extras)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def load_moves_file(path: str | Path) -> list[str]:
    """Canonical move texts, one per line; blank lines and ``#`` comments are skipped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [t.strip() for t in lines if t.strip() and not t.strip().startswith("#")]


def html_replay(states: list[GameState], moves: list[str], path: str | Path,
                title: str = "RingRift game") -> None:
    """Write one self-contained HTML file that steps through a game.

    Frame ``i`` shows ``states[i]`` after ``moves[i - 1]`` (frame 0: the first position).
    The board is drawn once as an SVG; each frame is an inline SVG overlay of the pieces,
    title and legend. Buttons, a slider and the arrow / Home / End keys step through.

    Raises:
        ValueError: no states, or ``len(moves) != len(states) - 1``.
    """
    if not states or len(moves) != len(states) - 1:
        raise ValueError(f"need len(moves) == len(states) - 1 >= 0, got {len(moves)} moves "
                         f"for {len(states)} states")
    b = states[0].board
    fig, ax, inch = _new_figure(b, states[0].num_players)
    board_artists = _draw_board(ax, b, inch)
    background = io.StringIO()
    _save(fig, background, "svg")
    for a in board_artists:
        a.set_visible(False)
    frames = []
    for i, state in enumerate(states):
        move = moves[i - 1] if i else None
        caption = f"{i}/{len(moves)}: {move}" if move else f"0/{len(moves)}: start"
        dynamic = _draw_position(fig, ax, state, inch, move, caption)
        buf = io.StringIO()
        _save(fig, buf, "svg", transparent=True)
        for a in dynamic:
            a.remove()
        frames.append(_strip_prolog(buf.getvalue()))
    Path(path).write_text(_html_page(title, _strip_prolog(background.getvalue()), frames, moves),
                          encoding="utf-8")


def _strip_prolog(svg: str) -> str:
    """The ``<svg ...>`` element alone (inline SVG takes no XML declaration or doctype)."""
    return svg[svg.index("<svg"):]


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
#board {{ position: relative; display: inline-block; }}
#board > div > svg, #bg > svg {{ display: block; height: auto; }}
.frame {{ position: absolute; top: 0; left: 0; }}
#controls {{ margin: 0.5em 0; }}
#slider {{ width: 60%; vertical-align: middle; }}
#move {{ font-family: monospace; margin-top: 0.3em; }}
</style></head>
<body>
<h3>{title}</h3>
<div id="controls">
<button id="first">|&lt;</button> <button id="prev">&lt; prev</button>
<button id="next">next &gt;</button> <button id="last">&gt;|</button>
<input id="slider" type="range" min="0" max="{last}" value="0">
<span id="counter"></span>
<div id="move"></div>
</div>
<div id="board"><div id="bg">{background}</div>
{frames}
</div>
<script>
const moves = {moves};
const frames = document.querySelectorAll(".frame");
const slider = document.getElementById("slider");
let cur = 0;
function show(i) {{
  i = Math.max(0, Math.min(frames.length - 1, i));
  frames[cur].style.display = "none";
  frames[i].style.display = "block";
  cur = i;
  slider.value = i;
  document.getElementById("counter").textContent = i + " / " + (frames.length - 1);
  document.getElementById("move").textContent = i ? "move " + i + ": " + moves[i - 1]
                                                  : "start position";
}}
document.getElementById("first").onclick = () => show(0);
document.getElementById("prev").onclick = () => show(cur - 1);
document.getElementById("next").onclick = () => show(cur + 1);
document.getElementById("last").onclick = () => show(frames.length - 1);
slider.oninput = () => show(parseInt(slider.value, 10));
document.addEventListener("keydown", (e) => {{
  const step = {{ArrowLeft: -1, ArrowRight: 1, ArrowUp: -10, ArrowDown: 10}}[e.key];
  if (step !== undefined) {{ show(cur + step); e.preventDefault(); }}
  else if (e.key === "Home") show(0);
  else if (e.key === "End") show(frames.length - 1);
}});
show(0);
</script>
</body></html>
"""


def _html_page(title: str, background: str, frames: list[str], moves: list[str]) -> str:
    body = "\n".join(f'<div class="frame" data-frame="{i}" style="display:none">{svg}</div>'
                     for i, svg in enumerate(frames))
    moves_js = json.dumps(moves).replace("</", "<\\/")
    return _PAGE.format(title=html.escape(title), background=background, frames=body,
                        moves=moves_js, last=len(frames) - 1)
