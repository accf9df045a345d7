"""HTML replays: one self-contained page per game, and the games they replay."""

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest

from ringrift_ray.cli import html_replay
from ringrift_ray.game import IllegalMoveError


class _TagBalance(HTMLParser):
    """Checks that every opened element is closed in order (void elements aside)."""

    VOID = {"meta", "input", "br", "img", "link", "hr"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


def test_html_replay_is_self_contained(tmp_path):
    states, moves = html_replay.random_game("hex8", 3, seed=4, max_moves=12)
    path = tmp_path / "game.html"
    html_replay.html_replay(states, moves, path, title="hex8 <test>")
    text = path.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text)
    assert "<link" not in text and "@import" not in text
    frames = re.findall(r'<div class="frame" data-frame="\d+"[^>]*>(.*?)</div>', text, re.S)
    assert len(frames) == len(states) == 13
    for svg in frames:
        assert ET.fromstring(svg).tag.rsplit("}", 1)[-1] == "svg"
    for move in moves:
        assert move in text
    assert "hex8 &lt;test&gt;" in text
    assert "ArrowRight" in text and 'type="range"' in text
    parser = _TagBalance()
    parser.feed(text)
    parser.close()
    assert parser.stack == []
    with pytest.raises(ValueError, match="len\\(moves\\)"):
        html_replay.html_replay(states, moves[:-1], path)


def test_replay_from_moves_repeats_the_game_and_names_an_illegal_move():
    states, moves = html_replay.random_game("square8", 2, seed=9, max_moves=30)
    replayed = html_replay.replay_from_moves("square8", 2, moves)
    assert len(replayed) == len(states)
    for a, b in zip(states, replayed, strict=True):
        assert np.array_equal(a.rings, b.rings) and np.array_equal(a.meta, b.meta)
        assert np.array_equal(a.marker, b.marker) and np.array_equal(a.collapsed, b.collapsed)
    with pytest.raises(IllegalMoveError, match="move 2 "):
        html_replay.replay_from_moves("square8", 2, [moves[0], moves[0]])
    with pytest.raises(ValueError, match="move 1 "):
        html_replay.replay_from_moves("square8", 2, ["not a move"])
