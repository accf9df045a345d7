"""Pictures of positions (SVG / PNG) and ``ringrift-ray show`` end to end."""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from ringrift_ray.cli import html_replay, pictures
from ringrift_ray.game import BOARD_TYPES, new_game, random_playout, state_to_reference

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIMEOUT_S = 900  # a cold numba cache compiles the kernels first
PLAYERS = {"square8": 2, "square19": 4, "hex8": 3, "hexagonal": 2}


def _played(board_type: str, seed: int, max_moves: int = 1_000_000):
    state = new_game(board_type, PLAYERS[board_type])
    random_playout(state, seed, max_moves=max_moves)
    return state


def _svg_root(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag.rsplit("}", 1)[-1] == "svg"
    return root


@pytest.mark.parametrize("board_type", BOARD_TYPES)
def test_svg_of_mid_game_and_finished_positions(board_type):
    mid = _played(board_type, seed=3, max_moves=120)
    assert mid.is_active and np.any(mid.height) and np.any(mid.marker)
    svg = pictures.render_svg(mid, move=None, caption="mid game")
    _svg_root(svg)
    assert f"{board_type}, {PLAYERS[board_type]} players" in svg
    assert f"player {mid.current_player} to move" in svg
    done = _played(board_type, seed=5)
    assert not done.is_active
    svg = pictures.render_svg(done)
    _svg_root(svg)
    assert "finished:" in svg


def test_cell_centres_are_one_apart_for_neighbours():
    for board_type in BOARD_TYPES:
        b = new_game(board_type, 2).board
        xy = pictures.cell_centers(b)
        axes = b.num_dirs // 2 if b.is_hex else 2  # hex: every axis; square: orthogonals
        for c in range(b.num_cells):
            for d in range(axes):
                n = b.step[c, d]
                if n >= 0:
                    assert np.hypot(*(xy[n] - xy[c])) == pytest.approx(1.0)


@pytest.mark.parametrize("board_type", ["square8", "hex8"])
def test_save_picture_png_and_svg(tmp_path, board_type):
    state = _played(board_type, seed=2, max_moves=80)
    pictures.save_picture(state, tmp_path / "pos.png")
    assert (tmp_path / "pos.png").read_bytes()[:8] == PNG_SIGNATURE
    pictures.save_picture(state, tmp_path / "pos.svg")
    _svg_root((tmp_path / "pos.svg").read_text())
    with pytest.raises(ValueError, match="must be .svg or .png"):
        pictures.save_picture(state, tmp_path / "pos.jpg")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ringrift_ray.cli", "show", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def test_show_cli_random_game_html_and_state_svg(tmp_path):
    proc = _cli("--board", "hex8", "--players", "3", "--seed", "1", "--max-moves", "10",
                "--out", "game.html", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "10 moves, 11 positions" in proc.stdout
    assert (tmp_path / "game.html").read_text().count('class="frame"') == 11

    state, extras = state_to_reference(_played("square8", seed=1, max_moves=50))
    (tmp_path / "state.json").write_text(json.dumps({"state": state, "state_extras": extras}))
    proc = _cli("--state", "state.json", "--out", "pos.svg", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    _svg_root((tmp_path / "pos.svg").read_text())

    _, moves = html_replay.random_game("square8", 2, seed=3, max_moves=8)
    (tmp_path / "moves.txt").write_text("# a recorded game\n" + "\n".join(moves) + "\n")
    proc = _cli("--moves", "moves.txt", "--out", "rec.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "rec.png").read_bytes()[:8] == PNG_SIGNATURE


def test_show_cli_reports_bad_inputs(tmp_path):
    _, moves = html_replay.random_game("square8", 2, seed=3, max_moves=3)
    (tmp_path / "bad_moves.txt").write_text("\n".join([moves[0], moves[0]]))
    (tmp_path / "bad.json").write_text('{"state": {"board": {"type": "square9"}}}')
    (tmp_path / "broken.json").write_text("{not json")
    cases = [
        (("--moves", "bad_moves.txt", "--out", "g.html"), "bad_moves.txt: move 2 "),
        (("--state", "bad.json", "--out", "p.svg"), "bad.json: state."),
        (("--state", "broken.json", "--out", "p.svg"), "broken.json: not valid JSON"),
        (("--state", "missing.json", "--out", "p.svg"), "missing.json"),
        (("--out", "p.gif"), "expected a .html, .svg or .png"),
    ]
    for args, message in cases:
        proc = _cli(*args, cwd=tmp_path)
        assert proc.returncode == 1, (args, proc.stderr)
        assert "ringrift-ray show: error: " in proc.stderr and message in proc.stderr, args


def test_a_long_move_text_wraps_in_the_title():
    state = new_game("square8", 2)
    caption = "move 7: " + " ".join(f"region({i},{i + 1})" for i in range(60))
    lines = pictures._title(state, caption, width=50).split("\n")
    assert len(lines) == pictures.CAPTION_LINES + 1 and lines[-1].startswith("square8")
    assert all(len(line) <= 50 for line in lines[:-1]) and lines[-2].endswith("\u2026")
    assert pictures._title(state, "move 1: x", width=50).split("\n")[0] == "move 1: x"
    svg = pictures.render_svg(state, caption=caption)
    assert "move 7: region(0,1)" in svg and "\u2026" in svg
