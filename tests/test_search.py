"""Gumbel search against cases with known answers: literal sequential-halving schedules, a
bandit, a 2-player game solved by minimax, a 3-seat max^n game, and output contracts."""

import numpy as np
import pytest

from ringrift_ray.config import SearchConfig
from ringrift_ray.search.gumbel import (
    GameFns,
    completed_qvalues,
    gumbel_search,
    search_step,
    start_search,
    visit_schedule,
)


def test_visit_schedule_literal():
    assert visit_schedule(4, 8) == (0, 0, 0, 0, 1, 1, 2, 2)
    assert visit_schedule(2, 4) == (0, 0, 1, 1)
    assert visit_schedule(1, 3) == (0, 1, 2)
    assert visit_schedule(16, 32) == (0,) * 16 + (1,) * 8 + (2,) * 4 + (3,) * 4
    assert visit_schedule(4, 3) == (0, 0, 0)


def _tree_game(num_players: int, depth: int, branching: int, leaf_value):
    """A game whose states are move tuples; seat ``len(state) % P`` moves; leaves at depth."""

    def terminal(s):
        return None if len(s) < depth else np.asarray(leaf_value(s), dtype=float)

    return GameFns(
        num_players=num_players,
        legal_actions=lambda s: np.arange(branching),
        apply=lambda s, a: s + (int(a),),
        to_play=lambda s: len(s) % num_players,
        terminal_values=terminal,
    )


def _uniform(num_actions: int, num_players: int, calls: list | None = None):
    def evaluate(states):
        if calls is not None:
            calls.append(len(states))
        return np.zeros((len(states), num_actions)), np.zeros((len(states), num_players))

    return evaluate


def test_bandit_picks_best_arm_and_policy_concentrates():
    arms = np.array([0.1, -0.3, 0.9, 0.2, -0.8, 0.0, 0.4, -0.1])
    game = _tree_game(1, 1, len(arms), lambda s: [arms[s[0]]])
    cfg = SearchConfig(num_simulations=16, max_num_considered_actions=8)
    rng = np.random.default_rng(0)
    for _ in range(20):
        (res,) = gumbel_search([()], game, _uniform(len(arms), 1), cfg, rng)
        assert res.action == 2
        assert res.policy[list(res.actions).index(2)] == res.policy.max()
        assert res.policy.max() > 2.0 / len(arms)


def test_two_player_search_matches_minimax():
    payoff = np.array([[1.0, 1.0, -0.8], [0.2, 0.2, 0.2], [-0.2, 0.4, 0.0]])  # seat 0's value
    game = _tree_game(2, 2, 3, lambda s: [payoff[s], -payoff[s]])
    minimax = int(np.argmax(payoff.min(axis=1)))
    cfg = SearchConfig(num_simulations=200, max_num_considered_actions=3, gumbel_scale=0.0)
    (res,) = gumbel_search([()], game, _uniform(3, 2), cfg, np.random.default_rng(1))
    assert minimax == 1
    assert res.action == minimax
    assert res.qvalues[minimax] == pytest.approx(0.2, abs=0.01)  # one 0-valued leaf eval


def test_three_seat_maxn_choice():
    # seat 0 picks a, seat 1 then picks b maximizing its own component.
    values = {
        (0, 0): [0.9, -0.5, -0.4], (0, 1): [-0.6, 0.8, -0.2],  # seat 1 answers a=0 with b=1
        (1, 0): [0.3, 0.1, -0.4], (1, 1): [0.1, -0.2, 0.1],    # seat 1 answers a=1 with b=0
    }
    game = _tree_game(3, 2, 2, lambda s: values[s])
    cfg = SearchConfig(num_simulations=64, max_num_considered_actions=2, gumbel_scale=0.0)
    (res,) = gumbel_search([()], game, _uniform(2, 3), cfg, np.random.default_rng(2))
    assert res.action == 1  # 0.3 after seat 1's reply beats -0.6 (a naive max would pick a=0)


def test_batched_search_one_network_call_per_step_and_shapes():
    arms = np.linspace(-1, 1, 6)
    game = _tree_game(1, 1, 6, lambda s: [arms[s[0]]])
    calls: list[int] = []
    cfg = SearchConfig(num_simulations=8, max_num_considered_actions=4)
    results = gumbel_search([()] * 5, game, _uniform(6, 1, calls), cfg, np.random.default_rng(3))
    assert calls[0] == 5  # the roots, in one call
    assert len(results) == 5
    for r in results:
        assert r.actions.shape == r.policy.shape == r.visits.shape == (6,)
        assert r.policy.dtype == np.float64 and r.visits.dtype == np.int64
        assert r.policy.sum() == pytest.approx(1.0)
        assert r.visits.sum() == 8
        assert r.root_value.shape == (1,)
        assert r.searched


def test_single_legal_action_is_not_searched():
    game = GameFns(1, lambda s: np.array([7]), lambda s, a: s + (a,), lambda s: 0,
                   lambda s: None if len(s) < 3 else np.zeros(1))
    calls: list[int] = []
    (res,) = gumbel_search([()], game, _uniform(10, 1, calls), SearchConfig(),
                           np.random.default_rng(0))
    assert res.action == 7 and not res.searched and calls == [1]
    assert res.policy.tolist() == [1.0]


def test_root_value_counts_the_root_network_value_as_first_visit():
    """mctx convention: root value = (v_root + sum of the N backed-up values) / (1 + N)."""
    arms = np.array([0.9, -0.3, 0.5, -0.7])
    game = _tree_game(1, 1, len(arms), lambda s: [arms[s[0]]])

    def evaluate(states):  # the root is the only non-terminal state: network value -0.6
        return np.zeros((len(states), len(arms))), np.full((len(states), 1), -0.6)

    cfg = SearchConfig(num_simulations=6, max_num_considered_actions=4)
    (res,) = gumbel_search([()], game, evaluate, cfg, np.random.default_rng(0))
    assert res.visits.sum() == 6
    backed_up = (res.visits * arms[res.actions]).sum()
    assert res.root_value == pytest.approx([(-0.6 + backed_up) / 7])
    one = GameFns(1, lambda s: np.array([3]), lambda s, a: s + (a,), lambda s: 0,
                  lambda s: None if len(s) < 1 else np.ones(1))
    (res,) = gumbel_search([()], one, evaluate, cfg, np.random.default_rng(0))
    assert not res.searched and res.root_value == pytest.approx([-0.6])


def test_terminal_root_is_an_error():
    game = _tree_game(2, 0, 2, lambda s: [0.0, 0.0])
    with pytest.raises(ValueError, match="terminal"):
        gumbel_search([()], game, _uniform(2, 2), SearchConfig(), np.random.default_rng(0))


def test_completed_q_uses_mixed_value_for_unvisited_actions():
    cfg = SearchConfig(rescale_values=False, c_visit=50, c_scale=0.1)
    logits = np.zeros(3)
    visits = np.array([2, 0, 0])
    q = np.array([0.5, 0.0, 0.0])
    sigma = completed_qvalues(logits, visits, q, raw_value=-0.1, cfg=cfg)
    mixed = (-0.1 + 2 * 0.5) / 3
    assert sigma == pytest.approx((50 + 2) * 0.1 * np.array([0.5, mixed, mixed]))


def _noisy_net(num_actions: int, calls: list):
    """Deterministic logits/values that depend on the state (a hash), so order matters."""
    def evaluate(states):
        calls.append(len(states))
        seeds = [hash(s) % 2**32 for s in states]
        logits = np.stack([np.random.default_rng(k).normal(size=num_actions) for k in seeds])
        values = np.array([[np.random.default_rng(k + 1).uniform(-1, 1)] for k in seeds])
        return logits, values
    return evaluate


def test_per_root_budgets_match_searching_alone_and_share_calls():
    arms = np.linspace(-1, 1, 5)
    game = _tree_game(1, 8, 5, lambda s: [arms[s[0]] * arms[s[-1]]])  # no terminal leaf
    cfg = SearchConfig(num_simulations=16, max_num_considered_actions=4, gumbel_scale=0.0)
    calls: list[int] = []
    roots = [(), (1,), (2,)]
    mixed = gumbel_search(roots, game, _noisy_net(5, calls), cfg, np.random.default_rng(0),
                          budgets=[16, 4, 9])
    assert calls == [3] * 5 + [2] * 5 + [1] * 7  # roots, then all live trees per step
    for root, budget, res in zip(roots, [16, 4, 9], mixed, strict=True):
        alone = gumbel_search([root], game, _noisy_net(5, []),
                              cfg.model_copy(update={"num_simulations": budget}),
                              np.random.default_rng(0))[0]
        assert res.visits.sum() == budget and res.action == alone.action
        assert np.array_equal(res.visits, alone.visits)
        assert np.allclose(res.policy, alone.policy)
    with pytest.raises(ValueError, match="budgets"):
        gumbel_search(roots, game, _noisy_net(5, []), cfg, np.random.default_rng(0),
                      budgets=[4, 0, 4])


def test_search_step_starts_roots_beside_searches_in_flight():
    """A root started mid-way is expanded in the same call as the others' simulations and
    ends with the same result as a search of its own."""
    game = _tree_game(2, 3, 4, lambda s: [0.1 * sum(s), -0.1 * sum(s)])
    cfg = SearchConfig(num_simulations=6, max_num_considered_actions=4, gumbel_scale=0.0)
    calls: list[int] = []
    evaluate = _noisy_net(4, calls)
    rng = np.random.default_rng(0)
    first = start_search((), game, cfg)
    search_step([first], game, evaluate, rng)
    search_step([first], game, evaluate, rng)
    second = start_search((3,), game, cfg)
    searches = [first, second]
    while not all(s.done for s in searches):
        search_step(searches, game, evaluate, rng)
    assert calls[:3] == [1, 1, 2] and first.tree.visits[0] == second.tree.visits[0] == 6
    alone = gumbel_search([(3,)], game, _noisy_net(4, []), cfg, np.random.default_rng(0))[0]
    assert np.array_equal(second.result().visits, alone.visits)
    assert second.result().action == alone.action
    with pytest.raises(ValueError, match="terminal"):
        start_search((0, 0, 0), game, cfg)


def test_pipelined_search_equals_serial_with_two_calls_per_step():
    """Pipelining alternates two halves of the roots (one's network call beside the other's
    tree work): the same results as one batch, Gumbel noise included, in calls of ~B/2."""
    game = _tree_game(2, 4, 5, lambda s: [0.1 * sum(s) - 0.3, 0.3 - 0.1 * sum(s)])
    cfg = SearchConfig(num_simulations=8, max_num_considered_actions=4)
    roots = [(), (1,), (2,), (3,), (4,)]
    serial_calls: list[int] = []
    piped_calls: list[int] = []
    serial = gumbel_search(roots, game, _noisy_net(5, serial_calls), cfg,
                           np.random.default_rng(5))
    piped = gumbel_search(roots, game, _noisy_net(5, piped_calls), cfg,
                          np.random.default_rng(5), pipeline=True)
    assert sorted(piped_calls[:2]) == [2, 3] and max(piped_calls) <= 3
    assert sum(piped_calls) == sum(serial_calls) and len(piped_calls) == 2 * len(serial_calls)
    for a, b in zip(serial, piped, strict=True):
        assert a.action == b.action and np.array_equal(a.visits, b.visits)
        assert np.allclose(a.policy, b.policy) and np.allclose(a.root_value, b.root_value)


def test_network_errors_reach_the_caller():
    def broken(states):
        raise RuntimeError("network exploded")

    game = _tree_game(1, 3, 3, lambda s: [0.0])
    with pytest.raises(RuntimeError, match="network exploded"):
        gumbel_search([(), (1,)], game, broken, SearchConfig(num_simulations=4),
                      np.random.default_rng(0), pipeline=True)
