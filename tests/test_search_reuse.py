"""Subtree reuse (search/reuse.py): the reused root is the old child with its whole subtree,
the root's halving counts only new visits, forced moves, game ends, truncation, and
determinism in selfplay and in matches (eval/forest_agent.py)."""

import numpy as np
import pytest
from test_search import _noisy_net
from test_search_batched import _on_rows, _state, _toy_compiled
from test_selfplay import _evaluate

import ringrift_ray.selfplay as selfplay
from ringrift_ray.config import GameConfig, SearchConfig, SelfplayConfig
from ringrift_ray.eval.baselines import agent_from_spec
from ringrift_ray.eval.forest_agent import ForestStats, forest_act
from ringrift_ray.eval.matches import Agent, play_match
from ringrift_ray.net import NetSpec, PolicyValueNet, save_checkpoint
from ringrift_ray.search.batched import (
    begin_forest_step,
    end_forest_step,
    new_forest,
    start_root,
    tree_result,
)
from ringrift_ray.search.batched_kernels import DONE, NEW, SEARCHING
from ringrift_ray.search.reuse import restart_root, reuse_root

CFG = SearchConfig(num_simulations=24, max_num_considered_actions=3, subtree_reuse=True)


def _reusable(toy, branching_of=None):
    """The toy game with the rows functions reuse needs (and, optionally, a branching that
    depends on the state's length: ``branching_of(length)``)."""

    def move_rows(pool, src, dst):
        pool[dst] = pool[src]

    def find_row(pool, rows, state):
        return next((j for j, r in enumerate(rows) if _state(pool, r) == tuple(state)), -1)

    def legal(pool, rows, trees, edge_top, edge_action, edge_payload, first, count, to_play):
        for j, (r, b) in enumerate(zip(rows, trees, strict=True)):
            n, s = branching_of(int(pool[r, 0])), edge_top[b]
            if s + n > edge_action.shape[1]:
                return j
            edge_action[b, s:s + n] = edge_payload[b, s:s + n, 0] = np.arange(n)
            first[j], count[j], to_play[j] = s, n, pool[r, 0] % toy.num_players
            edge_top[b] = s + n
        return len(rows)

    game = toy._replace(move_rows=move_rows, find_row=find_row)
    return game if branching_of is None else game._replace(legal=legal)


def _subtree(f, b, node) -> dict:
    """Node ``node`` of tree ``b`` and its descendants by action path: statistics, edges and
    state (what reuse must carry over unchanged)."""
    out = {}

    def walk(n, path):
        s, c = f.edge_start[b, n], f.edge_count[b, n] * (not f.terminal[b, n])
        out[path] = (int(f.visits[b, n]), tuple(f.value_sum[b, n]), tuple(f.raw_value[b, n]),
                     bool(f.terminal[b, n]), int(f.to_play[b, n]),
                     tuple(f.edge_logit[b, s:s + c]), _state(f.pool, b * f.nodes + n))
        for e in range(s, s + c):
            if f.edge_child[b, e] >= 0:
                walk(f.edge_child[b, e], path + (int(f.edge_action[b, e]),))

    walk(node, ())
    return out


def _child(f, b, node, action) -> int:
    s, c = f.edge_start[b, node], f.edge_count[b, node]
    return int(f.edge_child[b, s + list(f.edge_action[b, s:s + c]).index(action)])


def _finish(forest, evaluate, rng) -> None:
    while ((forest.status == NEW) | (forest.status == SEARCHING)).any():
        end_forest_step(begin_forest_step(forest, evaluate), rng)


def _searched(game, roots, evaluate, rng, cfg=CFG):
    forest = new_forest(game, len(roots), cfg.num_simulations, cfg)
    for b, root in enumerate(roots):
        start_root(forest, b, root, cfg)
    _finish(forest, evaluate, rng)
    return forest


def _value(s):
    return [0.1 * sum(s) - 0.3, 0.3 - 0.1 * sum(s)]


def test_reused_root_is_the_child_with_its_subtree():
    game, ev, rng = _reusable(_toy_compiled(2, 4, 3, _value)), _on_rows(_noisy_net(3, [])), \
        np.random.default_rng(3)
    forest = _searched(game, [(), (1,)], ev, rng)
    action = tree_result(forest, 0).action
    child = _child(forest, 0, 0, action)
    before, other = _subtree(forest, 0, child), _subtree(forest, 1, 0)
    assert reuse_root(forest, 0, (action,), CFG, rng)
    assert _subtree(forest, 0, 0) == before and _subtree(forest, 1, 0) == other
    k = forest.num_nodes[0]
    assert k == len(before) and not forest.visits[0, k:].any()
    c = forest.edge_count[0, 0]
    kids = forest.edge_child[0, :c]
    assert np.array_equal(forest.root_base[0, :c],
                          np.where(kids >= 0, forest.visits[0, np.maximum(kids, 0)], 0))
    old_visits = int(forest.visits[0, 0])
    _finish(forest, ev, rng)
    res = tree_result(forest, 0)
    halving = res.visits - forest.root_base[0, :c]
    assert forest.sim[0] == 24 and halving.sum() == 24 and halving.min() >= 0
    assert res.visits.sum() == forest.visits[0, 0] - 1 and forest.visits[0, 0] == old_visits + 24
    assert halving[list(res.actions).index(res.action)] == halving.max()


def test_reuse_through_a_forced_move_and_a_single_move_root():
    """Odd plies have one legal move: a reused root with one action is done at once, and
    the position after the forced move is found two plies down."""
    game = _reusable(_toy_compiled(2, 5, 3, _value), lambda n: 1 if n % 2 else 3)
    ev, rng = _on_rows(_noisy_net(3, [])), np.random.default_rng(5)
    forest = _searched(game, [()], ev, rng)
    action = tree_result(forest, 0).action
    forced = (action, 0)
    grandchild = _subtree(forest, 0, _child(forest, 0, _child(forest, 0, 0, action), 0))
    assert reuse_root(forest, 0, (action,), CFG, rng)
    assert forest.status[0] == DONE and not tree_result(forest, 0).searched
    assert tree_result(forest, 0).action == 0
    assert reuse_root(forest, 0, forced, CFG, rng) and _subtree(forest, 0, 0) == grandchild
    assert forest.status[0] != DONE


def test_no_node_of_the_state_leaves_the_tree_alone():
    game, ev, rng = _reusable(_toy_compiled(2, 4, 3, _value)), _on_rows(_noisy_net(3, [])), \
        np.random.default_rng(4)
    forest = _searched(game, [(1,)], ev, rng)
    before = _subtree(forest, 0, 0)
    assert not reuse_root(forest, 0, (2,), CFG, rng)
    assert _subtree(forest, 0, 0) == before
    assert not restart_root(forest, 0, (2,), CFG, rng)  # a fresh root instead
    assert forest.num_nodes[0] == 1 and forest.status[0] != DONE
    assert not restart_root(forest, 0, (1,), CFG.model_copy(update={"subtree_reuse": False}),
                            rng)


def test_game_end_terminal_leaves_keep_exact_values():
    """Depth 2: the reused root's children are finished games; they stay terminal with their
    exact values, and more visits back up exactly those values."""
    exact = {(a, b): [0.5 - 0.3 * a + 0.1 * b, -(0.5 - 0.3 * a + 0.1 * b)]
             for a in range(3) for b in range(3)}
    game = _reusable(_toy_compiled(2, 2, 3, lambda s: exact[s]))
    ev, rng = _on_rows(_noisy_net(3, [])), np.random.default_rng(6)
    forest = _searched(game, [()], ev, rng)
    action = tree_result(forest, 0).action
    with pytest.raises(ValueError, match="terminal"):
        restart_root(forest, 0, (action, 0), CFG, rng)
    assert reuse_root(forest, 0, (action,), CFG, rng)
    _finish(forest, ev, rng)
    f, c = forest, forest.edge_count[0, 0]
    for e in range(c):
        ch = f.edge_child[0, e]
        assert ch > 0 and f.terminal[0, ch] and f.edge_count[0, ch] == 0
        want = np.array(exact[(action, int(f.edge_action[0, e]))])
        assert np.allclose(f.value_sum[0, ch], f.visits[0, ch] * want)


def test_a_large_subtree_keeps_its_first_nodes():
    game, ev, rng = _reusable(_toy_compiled(2, 6, 2, _value)), _on_rows(_noisy_net(2, [])), \
        np.random.default_rng(8)
    forest = _searched(game, [()], ev, rng)
    action = tree_result(forest, 0).action
    child = _child(forest, 0, 0, action)
    assert len(_subtree(forest, 0, child)) > 5
    big = CFG.model_copy(update={"num_simulations": forest.nodes - 5})
    assert reuse_root(forest, 0, (action,), big, rng)
    assert forest.num_nodes[0] == 5
    for path, stats in _subtree(forest, 0, 0).items():
        assert stats[-1] == (action, *path)  # every kept node holds its own state
    _finish(forest, ev, rng)
    assert forest.sim[0] == forest.nodes - 5 and forest.num_nodes[0] <= forest.nodes


def test_selfplay_reuses_subtrees_and_is_deterministic(monkeypatch):
    reused: list[bool] = []

    def counting(*args, **kwargs):
        reused.append(restart_root(*args, **kwargs))
        return reused[-1]

    monkeypatch.setattr(selfplay, "restart_root", counting)
    cfg = SelfplayConfig(games_per_batch=3, full_search_prob=0.5, cheap_simulations=4,
                         temperature_moves=2)
    search = SearchConfig(num_simulations=8, max_num_considered_actions=4, subtree_reuse=True)
    ev = _evaluate("square8", 2)
    runs = [selfplay.play_games(GameConfig(), ev, search, cfg, np.random.default_rng(0))
            for _ in range(2)]
    assert sum(reused) > len(reused) / 4  # found the played position in the old tree
    (a, sa), (b, sb) = runs
    assert sa.simulations == sb.simulations and len(a) == len(b) > 0
    for key in ("cells", "policy_values", "policy_indices", "values"):
        assert np.array_equal(getattr(a, key), getattr(b, key)), key


def test_match_agent_reuses_between_its_decisions():
    ev = _evaluate("square8", 2)
    cfg = SearchConfig(num_simulations=8, max_num_considered_actions=4, subtree_reuse=True)
    results = []
    for _ in range(2):
        stats = ForestStats()
        agents = [Agent("reuse", forest_act(ev, 2, cfg, stats)),
                  Agent("fresh", forest_act(ev, 2, cfg.model_copy(
                      update={"subtree_reuse": False})))]
        m = play_match(agents, "square8", 2, 2, seed=1, concurrency=2, keep_moves=True)
        results.append([g.move_texts for g in m.games])
        assert stats.decisions > 0 and 0 < stats.reused <= stats.decisions
        assert agents[1].act.stats.reused == 0
    assert results[0] == results[1]


def test_agent_spec_reuse_suffix(tmp_path):
    path = tmp_path / "tiny.pt"
    save_checkpoint(PolicyValueNet(NetSpec("square8", 2, "tiny")), path)
    agent = agent_from_spec(f"{path}:4:reuse", "square8", 2)
    assert agent.name == f"{path}:4:reuse" and agent.act.stats.decisions == 0
    assert not hasattr(agent_from_spec(f"{path}:4", "square8", 2).act, "stats")
    with pytest.raises(ValueError, match="positive"):
        agent_from_spec(f"{path}:0:reuse", "square8", 2)


def test_reuse_needs_the_compiled_tree():
    with pytest.raises(ValueError, match="compiled"):
        SearchConfig(tree="python", subtree_reuse=True)
