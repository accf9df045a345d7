"""Self-contained HTML replays of whole games, and the games to replay.

``html_replay`` writes one HTML file (no external scripts, styles or fonts) that steps
through a game with buttons, a slider and the arrow / Home / End keys. It draws with
``pictures.py`` in two layers: the board once, as the page's background SVG, and one
transparent SVG overlay per position (pieces, highlighted move, title and legend).

Games come as ``states`` (``len(moves) + 1`` positions, ``states[0]`` the start) with their
canonical move texts: ``replay_from_moves`` replays recorded texts (``load_moves_file`` reads
them, one per line), ``random_game`` plays uniformly at random.
"""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import numpy as np

from ringrift_ray.cli.pictures import draw_board, draw_position, new_figure, save_figure
from ringrift_ray.game import (
    GameState,
    IllegalMoveError,
    apply_move,
    apply_record,
    is_terminal,
    legal_move_records,
    move_to_text,
    new_game,
    record_to_move,
)


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


def load_moves_file(path: str | Path) -> list[str]:
    """Canonical move texts, one per line; blank lines and ``#`` comments are skipped.

    Raises:
        OSError: an unreadable file.
        ValueError: not UTF-8 text (the message names the file).
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text: {e}") from None
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
    fig, ax, inch = new_figure(b, states[0].num_players)
    board_artists = draw_board(ax, b, inch)
    background = io.StringIO()
    save_figure(fig, background, "svg")
    for a in board_artists:
        a.set_visible(False)
    frames = []
    for i, state in enumerate(states):
        move = moves[i - 1] if i else None
        caption = f"{i}/{len(moves)}: {move}" if move else f"0/{len(moves)}: start"
        dynamic = draw_position(fig, ax, state, inch, move, caption)
        buf = io.StringIO()
        save_figure(fig, buf, "svg", transparent=True)
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
