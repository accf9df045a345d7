"""RingRift search adapter: rank values, game functions and seat rotation of values."""

import numpy as np
import pytest

from ringrift_ray.config import SearchConfig
from ringrift_ray.encoding import index_to_move, legal_actions
from ringrift_ray.game import apply_move, apply_record_inplace, new_game
from ringrift_ray.search.game_fns import (
    cached_legal_actions,
    forced_record,
    game_fns,
    network_evaluate,
    rank_values,
)
from ringrift_ray.search.gumbel import gumbel_search


def test_rank_values_linear_with_shared_ties():
    assert rank_values({1: 1, 2: 2}, 2).tolist() == [1.0, -1.0]
    assert rank_values({1: 3, 2: 1, 3: 2}, 3).tolist() == [-1.0, 1.0, 0.0]
    v = rank_values({1: 1, 2: 2, 3: 2, 4: 4}, 4)
    assert v[0] == 1.0 and v[3] == -1.0 and v[1] == v[2] == pytest.approx(0.0)


def test_game_fns_apply_matches_engine():
    g = game_fns(3)
    s = new_game("hex8", 3)
    idx = g.legal_actions(s)
    nxt = g.apply(s, int(idx[5]))
    assert nxt.meta.tolist() == apply_move(s, index_to_move(s, int(idx[5]))).meta.tolist()
    assert g.to_play(s) == 0 and g.terminal_values(s) is None
    with pytest.raises(ValueError, match="not legal"):
        g.apply(s, -5)


def test_network_values_are_rotated_to_absolute_seats():
    s = apply_move(new_game("square8", 3), "place_ring p1 to=0,0 n=1")
    s = apply_move(apply_move(s, "move_stack p1 from=0,0 to=0,1"), "no_line_action p1")
    s = apply_move(s, "no_territory_action p1")
    assert s.current_player == 2

    def infer_fn(obs):  # seat-relative: seat 0 (player 2) +0.5, seat 1 (player 3) -0.5
        return np.zeros((len(obs), 5962)), np.tile([0.5, -0.5, 0.0], (len(obs), 1))

    _, values = network_evaluate(infer_fn)([s])
    assert values[0].tolist() == [0.0, 0.5, -0.5]


def test_search_on_ringrift_returns_legal_moves():
    def infer_fn(obs):
        return np.zeros((len(obs), 5962), np.float32), np.zeros((len(obs), 2), np.float32)

    roots = [new_game("square8", 2) for _ in range(3)]
    res = gumbel_search(roots, game_fns(2), network_evaluate(infer_fn),
                        SearchConfig(num_simulations=8), np.random.default_rng(0))
    for s, r in zip(roots, res, strict=True):
        assert r.action in set(legal_actions(s)[0].tolist())
        assert r.visits.sum() == 8


def test_forced_record_and_cached_legal_actions_follow_in_place_moves():
    s = new_game("square8", 2)
    assert forced_record(s) is None  # placement: many choices
    idx, recs = cached_legal_actions(s)
    assert cached_legal_actions(s)[0] is idx  # computed once per position
    apply_record_inplace(s, recs[0])  # same object, new position: the entry is stale
    assert np.array_equal(cached_legal_actions(s)[0], legal_actions(s)[0])
    while forced_record(s) is None:  # play on until a single-move decision comes up
        apply_record_inplace(s, cached_legal_actions(s)[1][0])
    only = forced_record(s)
    assert len(legal_actions(s)[1]) == 1 and np.array_equal(only, legal_actions(s)[1][0])
