"""Replay every reference trace game with our engine (reference README, `traces/`).

At every step our legal-move set (canonical texts; recovery slides by type/player/from/to/
mode) equals the trace's, our state equals the trace's state on board, players, current
player/phase, status and winner, and at the end our ranks equal the trace's ranks.
Big boards replay a sample of games in the default run; ``--full`` replays all of them.
"""

import pytest
from reference import trace_games
from replay import replay

# trace -> games replayed in the default (CI) run; None = all
SAMPLED = {
    "square8_2p": None,
    "square8_3p": None,
    "square8_4p": None,
    "hex8_2p": None,
    "square19_2p": 3,
    "hexagonal_2p": 1,
}


def _games(name: str, limit: int | None):
    return [(start["game"], steps, end) for i, (start, steps, end) in enumerate(trace_games(name))
            if limit is None or i < limit]


@pytest.mark.parametrize("name", sorted(SAMPLED))
def test_trace_games_replay_exactly(name):
    problems = []
    for _game, steps, end in _games(name, SAMPLED[name]):
        problems += replay(steps, end)
    assert not problems, "\n".join(problems[:5])


@pytest.mark.full
@pytest.mark.parametrize("name", ["square19_2p", "hexagonal_2p"])
def test_trace_games_replay_exactly_full(name):
    problems = []
    for _game, steps, end in _games(name, None):
        problems += replay(steps, end)
    assert not problems, "\n".join(problems[:5])
