"""The ``uct:N`` baseline: the tree's visit counts, legal moves, determinism, a found win
and the spec's errors (`ringrift_ray.eval.uct`)."""

import numpy as np
import pytest
from test_minimax import checked, winning_positions

from ringrift_ray.eval.baselines import agent_from_spec
from ringrift_ray.eval.matches import play_match
from ringrift_ray.eval.uct import uct_search
from ringrift_ray.game import legal_move_records, new_game


def test_search_spends_its_simulations_on_distinct_legal_moves():
    state = new_game("hex8", 3)
    records, visits = uct_search(state, 40, np.random.default_rng(0))
    assert visits.sum() == 40 and len(records) == len(visits) == 40  # > 40 legal moves
    legal = {r.tobytes() for r in legal_move_records(state)}
    assert {r.tobytes() for r in records} <= legal and len({r.tobytes() for r in records}) == 40
    again = uct_search(state, 40, np.random.default_rng(0))
    assert np.array_equal(again[0], records) and np.array_equal(again[1], visits)


def test_uct_visits_a_win_most():
    found = 0
    for state, wins in winning_positions():
        records, visits = uct_search(state, 64, np.random.default_rng(0))
        legal = legal_move_records(state)
        won = [wins[[np.array_equal(r, x) for x in legal].index(True)] for r in records]
        assert visits[won].max() == visits.max()  # an immediate win is among the most visited
        found += 1
    assert found >= 3


@pytest.mark.parametrize(("board", "players", "cap"), [("square8", 2, 60), ("hex8", 3, 45)])
def test_uct_plays_legal_moves_deterministically(board, players, cap):
    runs = []
    for _ in range(2):
        seen = []
        result = play_match([checked(agent_from_spec("uct:12", board, players), seen),
                             agent_from_spec("random", board, players)], board, players,
                            players, seed=5, max_moves=cap, keep_moves=True)
        runs.append([g.move_texts for g in result.games])
        assert seen
    assert runs[0] == runs[1]


@pytest.mark.parametrize("spec", ["uct:0", "uct:x", "uct:", "uct:-3"])
def test_bad_simulation_count_is_an_error(spec):
    with pytest.raises(ValueError, match="simulation count"):
        agent_from_spec(spec, "square8", 2)
