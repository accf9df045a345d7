"""The compiled RingRift adapter (search/game_kernels.py): the compiled search on real
positions equals the Python tree bit for bit (openings, midgames, endgames with finished
leaves, forced roots; 2-4 players), and pool rows encode as `encoding.encode` does."""

import numpy as np
import pytest

from ringrift_ray.config import SearchConfig
from ringrift_ray.encoding import encode, num_actions, values_to_players
from ringrift_ray.game import apply_record_inplace, is_terminal, legal_move_records, new_game
from ringrift_ray.game import constants as K
from ringrift_ray.search.batched import batched_search
from ringrift_ray.search.game_fns import forced_record, game_fns, network_evaluate
from ringrift_ray.search.game_kernels import (
    compiled_game,
    encode_rows,
    leaf_evaluate,
    load,
    new_pool,
)
from ringrift_ray.search.gumbel import gumbel_search


def _positions(board_type: str, players: int, count: int, seed: int) -> list:
    """Openings, midgames, positions 1-5 moves before a random game's end, a forced one."""
    rng = np.random.default_rng(seed)
    out, forced = [], None
    while len(out) < count:
        s, history = new_game(board_type, players), []
        while not is_terminal(s):
            history.append(s.copy())
            if forced is None and forced_record(s) is not None:
                forced = s.copy()
            r = legal_move_records(s)
            apply_record_inplace(s, r[rng.integers(len(r))])
        out += [history[int(rng.integers(0, 30))], history[-int(rng.integers(1, 6))]]
    return out[:count - 1] + [forced]


def _net(board_type: str, players: int):
    """A deterministic stand-in network on the planes (logits and values vary by position)."""
    w = np.random.default_rng(0).normal(size=(43, num_actions(board_type))).astype(np.float32)

    def infer(obs):
        x = obs.sum(axis=(2, 3))
        values = np.tanh(0.01 * x[:, 1:1 + players] - 0.02 * x[:, 11:11 + players])
        return (0.05 * x @ w).astype(np.float32), values.astype(np.float32)

    return infer


@pytest.mark.parametrize("board_type,players", [("square8", 2), ("hex8", 3), ("square8", 4)])
def test_compiled_search_equals_python_search(board_type, players):
    roots = _positions(board_type, players, 10, seed=players)
    budgets = [16, 5, 1, 16, 9, 2, 16, 3, 16, 16]
    cfg = SearchConfig(num_simulations=16, max_num_considered_actions=8)
    evaluate = network_evaluate(_net(board_type, players))
    old = gumbel_search(roots, game_fns(players), evaluate, cfg, np.random.default_rng(3),
                        budgets=budgets)
    new = batched_search(roots, compiled_game(board_type, players), leaf_evaluate(evaluate),
                         cfg, np.random.default_rng(3), budgets=budgets)
    assert not new[-1].searched  # the forced root
    for a, b in zip(old, new, strict=True):
        assert a.action == b.action and a.searched == b.searched
        for key in ("actions", "policy", "visits", "qvalues", "root_value"):
            assert np.array_equal(getattr(a, key), getattr(b, key)), key


def test_rows_encode_and_rotate_as_the_python_adapter():
    states = _positions("hex8", 3, 4, seed=9)[:3]
    pool = new_pool("hex8", 3, 5)
    for row, s in zip((4, 0, 2), states, strict=True):
        load(pool, row, s)
    rows = np.array([4, 0, 2])
    assert np.array_equal(encode_rows(pool, rows), encode(states))
    infer = lambda obs: (np.zeros((len(obs), 3)), np.tile([0.5, -0.5, 0.25], (len(obs), 1)))  # noqa: E731
    _, values = leaf_evaluate(network_evaluate(infer))(pool, rows)
    assert np.array_equal(values, [values_to_players(s, [0.5, -0.5, 0.25]) for s in states])
    finished = new_game("square8", 2)
    finished.meta[K.M_ACTIVE] = 0
    with pytest.raises(ValueError, match="terminal"):
        load(new_pool("square8", 2, 1), 0, finished)
