"""The ``minimax:D`` baseline: alpha-beta agrees with plain minimax, ``minimax:1`` is the
greedy heuristic, legal moves, determinism and a found win (`ringrift_ray.eval.minimax`)."""

import numpy as np
import pytest

from ringrift_ray.eval.baselines import agent_from_spec, heuristic_agent
from ringrift_ray.eval.heuristic import heuristic_score
from ringrift_ray.eval.matches import Agent, play_match
from ringrift_ray.eval.minimax import minimax_agent, minimax_scores
from ringrift_ray.game import apply_record, apply_record_inplace, legal_move_records, new_game


def positions(board: str, players: int, seed: int, every: int, max_branching: int = 30):
    """Live positions with 2..max_branching legal moves along one random game."""
    rng = np.random.default_rng(seed)
    state, out, n = new_game(board, players), [], 0
    while state.is_active:
        recs = legal_move_records(state)
        if 2 <= len(recs) <= max_branching and n % every == 0:
            out.append(state.copy())
        n += 1
        apply_record_inplace(state, recs[rng.integers(len(recs))])
    return out


def plain_minimax(state, plies: int, subject: int) -> float:
    """Paranoid minimax without pruning, the reference for alpha-beta."""
    if plies == 0 or not state.is_active:
        return heuristic_score(state, subject)
    vals = [plain_minimax(apply_record(state, r), plies - 1, subject)
            for r in legal_move_records(state)]
    return max(vals) if state.current_player == subject else min(vals)


@pytest.mark.parametrize(("board", "players"), [("square8", 2), ("hex8", 3)])
def test_alphabeta_finds_the_plain_minimax_moves(board, players):
    checked = 0
    for state in positions(board, players, seed=1, every=9, max_branching=12)[:6]:
        recs, scores = minimax_scores(state, 2)
        exact = np.array([plain_minimax(apply_record(state, r), 1, state.current_player)
                          for r in recs])
        assert scores.max() == pytest.approx(exact.max())
        best = scores >= scores.max() - 1e-9
        assert np.array_equal(best, exact >= exact.max() - 1e-9)
        assert np.all(exact[~best] <= scores[~best] + 1e-9)  # pruned: upper bounds
        checked += 1
    assert checked >= 3


def test_minimax_1_is_the_greedy_heuristic():
    greedy, mm1 = heuristic_agent(), minimax_agent(1)
    unique = 0
    for state in positions("square8", 2, seed=2, every=5, max_branching=200):
        scores = [heuristic_score(apply_record(state, r), state.current_player)
                  for r in legal_move_records(state)]
        if sorted(scores)[-1] - sorted(scores)[-2] > 1e-6:
            unique += 1
        a = greedy.act([state], np.random.default_rng(7))[0]
        b = mm1.act([state], np.random.default_rng(7))[0]
        assert np.array_equal(a, b)  # same choice, ties drawn alike
    assert unique >= 5


def winning_positions(count: int = 12):
    """``(position, wins [M])`` before the last move of random square8 games won by the last
    mover; ``wins`` marks the legal moves that win at once."""
    for seed in range(count):
        rng, state, prev = np.random.default_rng(seed), new_game("square8", 2), None
        while state.is_active:
            recs = legal_move_records(state)
            prev = state.copy()
            apply_record_inplace(state, recs[rng.integers(len(recs))])
        recs = legal_move_records(prev)
        if state.winner == prev.current_player and len(recs) >= 2:
            after = [apply_record(prev, r) for r in recs]
            yield prev, np.array([a.winner == prev.current_player and not a.is_active
                                  for a in after])


def test_minimax_2_scores_a_win_best():
    found = 0
    for state, wins in winning_positions():
        recs, scores = minimax_scores(state, 2)
        assert np.all(scores[wins] == 1000.0) and scores.max() == 1000.0
        rec = minimax_agent(2).act([state], np.random.default_rng(0))[0]
        assert scores[[np.array_equal(rec, r) for r in recs]][0] == 1000.0
        found += 1
    assert found >= 3


def checked(agent: Agent, seen: list) -> Agent:
    """``agent`` with every chosen record checked against the legal moves."""

    def act(states, rng):
        recs = agent.act(states, rng)
        for s, r in zip(states, recs, strict=True):
            assert any(np.array_equal(r, x) for x in legal_move_records(s))
            seen.append(r.tobytes())
        return recs

    return Agent(agent.name, act)


@pytest.mark.parametrize(("board", "players", "cap"), [("square8", 2, 40), ("hex8", 3, 30)])
def test_minimax_plays_legal_moves_deterministically(board, players, cap):
    runs = []
    for _ in range(2):
        seen = []
        result = play_match([checked(agent_from_spec("minimax:2", board, players), seen),
                             agent_from_spec("random", board, players)], board, players,
                            players, seed=4, max_moves=cap, keep_moves=True)
        runs.append([g.move_texts for g in result.games])
        assert seen
    assert runs[0] == runs[1]


def test_bad_depth_is_an_error():
    with pytest.raises(ValueError, match="depth"):
        agent_from_spec("minimax:x", "square8", 2)
    with pytest.raises(ValueError, match="depth"):
        minimax_agent(0)
