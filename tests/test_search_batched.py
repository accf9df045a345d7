"""The compiled batched search (search/batched.py) gives `search.gumbel`'s answers bit for
bit, and mctx's documented semantics on toy trees.

Toy games are move-tuple games (tests/test_search.py) plugged in as a `CompiledGame` written
in plain numpy: the forest does not care whether the game is compiled."""

import numpy as np
import pytest
from test_search import _noisy_net, _tree_game, _uniform

from ringrift_ray.config import SearchConfig
from ringrift_ray.search.batched import CompiledGame, batched_search, new_forest, start_root
from ringrift_ray.search.batched_kernels import fill_schedule
from ringrift_ray.search.gumbel import gumbel_search, visit_schedule


def _toy_compiled(num_players: int, depth: int, branching: int, leaf_value) -> CompiledGame:
    """`_tree_game` as a `CompiledGame`: row = [length, moves...]; record = [move]."""

    def load(pool, row, state):
        if len(state) >= depth:
            raise ValueError("root is a terminal state")
        pool[row] = 0
        pool[row, 0] = len(state)
        pool[row, 1:1 + len(state)] = state

    def apply(pool, parents, rows, records):
        for p, r, rec in zip(parents, rows, records, strict=True):
            if p >= 0:
                pool[r] = pool[p]
                pool[r, 1 + pool[r, 0]] = rec[0]
                pool[r, 0] += 1
        return pool[rows, 0] >= depth

    def legal(pool, rows, trees, edge_top, edge_action, edge_payload, first, count, to_play):
        for j, (r, b) in enumerate(zip(rows, trees, strict=True)):
            s = edge_top[b]
            if s + branching > edge_action.shape[1]:
                return j
            edge_action[b, s:s + branching] = edge_payload[b, s:s + branching, 0] = \
                np.arange(branching)
            first[j], count[j], to_play[j] = s, branching, pool[r, 0] % num_players
            edge_top[b] = s + branching
        return len(rows)

    def terminal_values(pool, rows):
        return np.array([leaf_value(_state(pool, r)) for r in rows], dtype=float)

    return CompiledGame(num_players, 1, lambda rows: np.zeros((rows, depth + 1), np.int64),
                        load, apply, legal, terminal_values, 1)


def _state(pool, row) -> tuple:
    return tuple(int(a) for a in pool[row, 1:1 + pool[row, 0]])


def _on_rows(evaluate):
    return lambda pool, rows: evaluate([_state(pool, r) for r in rows])


def _same(a, b) -> None:
    """Bit-for-bit equal `SearchResult`s."""
    assert a.action == b.action and a.searched == b.searched
    for key in ("actions", "policy", "visits", "qvalues", "root_value"):
        assert np.array_equal(getattr(a, key), getattr(b, key)), key


def test_schedule_kernel_equals_visit_schedule():
    out = np.zeros(80, dtype=np.int64)
    for k in range(1, 20):
        for n in (1, 2, 3, 7, 16, 31, 64, 80):
            fill_schedule(k, n, out)
            assert tuple(out[:n].tolist()) == visit_schedule(k, n), (k, n)


ARMS = np.array([0.1, -0.3, 0.9, 0.2, -0.8, 0.0, 0.4, -0.1])
PAYOFF = np.array([[1.0, 1.0, -0.8], [0.2, 0.2, 0.2], [-0.2, 0.4, 0.0]])
MAXN = {(0, 0): [0.9, -0.5, -0.4], (0, 1): [-0.6, 0.8, -0.2], (1, 0): [0.3, 0.1, -0.4],
        (1, 1): [0.1, -0.2, 0.1]}
CASES = {  # name: (players, depth, branching, leaf value, config, known action)
    "bandit": (1, 1, 8, lambda s: [ARMS[s[0]]], SearchConfig(num_simulations=16,
                                                              max_num_considered_actions=8), 2),
    "minimax": (2, 2, 3, lambda s: [PAYOFF[s], -PAYOFF[s]],
                SearchConfig(num_simulations=200, max_num_considered_actions=3,
                             gumbel_scale=0.0), 1),
    "max^n": (3, 2, 2, lambda s: MAXN[s], SearchConfig(
        num_simulations=64, max_num_considered_actions=2, gumbel_scale=0.0), 1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_known_answers_equal_the_python_tree(name):
    players, depth, branching, value, cfg, known = CASES[name]
    old = gumbel_search([()], _tree_game(players, depth, branching, value),
                        _uniform(branching, players), cfg, np.random.default_rng(1))
    new = batched_search([()], _toy_compiled(players, depth, branching, value),
                         _on_rows(_uniform(branching, players)), cfg, np.random.default_rng(1))
    _same(old[0], new[0])
    assert new[0].action == known


def test_budgets_noise_and_calls_equal_the_python_tree():
    """Mixed budgets, a network that depends on the state, Gumbel noise, terminal leaves
    and a small edge pool that has to grow: results and network batches equal."""
    game = _tree_game(2, 3, 5, lambda s: [0.1 * sum(s) - 0.3, 0.3 - 0.1 * sum(s)])
    toy = _toy_compiled(2, 3, 5, lambda s: [0.1 * sum(s) - 0.3, 0.3 - 0.1 * sum(s)])
    cfg = SearchConfig(num_simulations=24, max_num_considered_actions=4)
    roots, budgets = [(), (1,), (2, 2), (4,), ()], [24, 5, 1, 9, 2]
    old_calls, new_calls = [], []
    old = gumbel_search(roots, game, _noisy_net(5, old_calls), cfg, np.random.default_rng(7),
                        budgets=budgets)
    forest = new_forest(toy, len(roots), 24, cfg, edge_capacity=5)
    new = batched_search(roots, toy, _on_rows(_noisy_net(5, new_calls)), cfg,
                         np.random.default_rng(7), budgets=budgets, forest=forest)
    for a, b in zip(old, new, strict=True):
        _same(a, b)
    assert old_calls == new_calls and forest.edge_action.shape[1] > 5


def test_start_root_errors():
    toy = _toy_compiled(1, 2, 3, lambda s: [0.0])
    forest = new_forest(toy, 2, 8, SearchConfig())
    with pytest.raises(ValueError, match="terminal"):
        start_root(forest, 0, (1, 1), SearchConfig(num_simulations=8))
    with pytest.raises(ValueError, match="budget"):
        start_root(forest, 0, (), SearchConfig(num_simulations=9))
    with pytest.raises(ValueError, match="must match"):
        start_root(forest, 0, (), SearchConfig(num_simulations=8, c_scale=0.1))


def _softmax(x):
    z = np.exp(x - x.max())
    return z / z.sum()


def _mctx_reference(net, branching: int, cfg: SearchConfig, gumbel: np.ndarray):
    """One-player Gumbel MuZero as mctx documents ``gumbel_muzero_policy`` (reward 0,
    discount 1, ``qtransform_completed_by_mix_value`` with ``rescale_values``), written from
    the documentation with a dict of nodes: ``(visits, action, policy)`` of the root."""
    nodes = {}  # state -> [prior logits, raw value, visit count, mean value]

    def expand(s):
        logits, value = net([s])
        nodes[s] = [np.asarray(logits[0], float), float(value[0][0]), 1, float(value[0][0])]
        return nodes[s][1]

    def completed(s):
        logits, raw = nodes[s][0], nodes[s][1]
        kids = [nodes.get(s + (a,)) for a in range(branching)]
        n = np.array([0 if k is None else k[2] for k in kids])
        q = np.array([0.0 if k is None else k[3] for k in kids])
        probs, seen = _softmax(logits), n > 0
        mixed = raw if not seen.any() else (raw + n.sum() * (probs[seen] * q[seen]).sum()
                                             / probs[seen].sum()) / (1 + n.sum())
        q = np.where(seen, q, mixed)
        q = (q - q.min()) / max(q.max() - q.min(), 1e-8)
        return (cfg.c_visit + n.max()) * cfg.c_scale * q, n

    def root_score(considered):
        sigma, n = completed(())
        logits = nodes[()][0] - nodes[()][0].max()
        return np.where(n == considered, np.maximum(-1e9, gumbel + logits + sigma), -np.inf)

    expand(())
    k = min(cfg.max_num_considered_actions, branching)
    for considered in visit_schedule(k, cfg.num_simulations):
        path, a = [()], int(np.argmax(root_score(considered)))
        while True:
            path.append(path[-1] + (a,))
            if path[-1] not in nodes:
                leaf = expand(path[-1])
                break
            sigma, n = completed(path[-1])
            a = int(np.argmax(_softmax(nodes[path[-1]][0] + sigma) - n / (1 + n.sum())))
        for s in path[:-1]:
            node = nodes[s]
            node[3] = (node[3] * node[2] + leaf) / (node[2] + 1)
            node[2] += 1
    sigma, n = completed(())
    action = int(np.argmax(root_score(n.max())))
    return n, action, _softmax(nodes[()][0] + sigma)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conformance_with_mctx_gumbel_muzero_policy(seed):
    """Visit counts, acted move and improved policy of a 1-player toy tree (network logits and
    values everywhere, no terminal) against the mctx reference above."""
    branching = 6
    cfg = SearchConfig(num_simulations=30, max_num_considered_actions=4, c_visit=50.0,
                       c_scale=0.1)
    toy = _toy_compiled(1, 99, branching, lambda s: [0.0])
    (res,) = batched_search([()], toy, _on_rows(_noisy_net(branching, [])), cfg,
                            np.random.default_rng(seed))
    gumbel = cfg.gumbel_scale * np.random.default_rng(seed).gumbel(size=branching)
    visits, action, policy = _mctx_reference(_noisy_net(branching, []), branching, cfg, gumbel)
    assert res.visits.tolist() == visits.tolist() and res.action == action
    assert np.allclose(res.policy, policy, rtol=0, atol=1e-12)
    assert (res.visits > 0).sum() <= 4  # Gumbel-top-k: only k actions are ever visited


def test_network_errors_reach_the_caller():
    def broken(pool, rows):
        raise RuntimeError("network exploded")

    with pytest.raises(RuntimeError, match="network exploded"):
        batched_search([(), (1,)], _toy_compiled(1, 3, 3, lambda s: [0.0]), broken,
                       SearchConfig(num_simulations=4), np.random.default_rng(0))
