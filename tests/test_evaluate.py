"""Evaluation: Wilson intervals, Elo fit, matches between agents, the CLI."""

import json
import math
import re
import subprocess
import sys
from itertools import combinations

import numpy as np
import pytest

from ringrift_ray.config import SearchConfig
from ringrift_ray.encoding import num_actions
from ringrift_ray.eval.baselines import heuristic_agent, random_agent
from ringrift_ray.eval.elo import fit_elo
from ringrift_ray.eval.gate_stats import wilson_interval
from ringrift_ray.eval.heuristic import heuristic_score
from ringrift_ray.eval.matches import (
    GameResult,
    MatchResult,
    checkpoint_agent,
    pairwise_outcomes,
    play_match,
    search_agent,
)
from ringrift_ray.game import apply_record_inplace, legal_move_records, new_game

# ---- Wilson interval -------------------------------------------------------------------------


@pytest.mark.parametrize(("wins", "n", "expected"), [
    (5, 10, (0.2366, 0.7634)),
    (10, 10, (0.7225, 1.0)),
    (0, 10, (0.0, 0.2775)),
    (62, 100, (0.5221, 0.7090)),
])
def test_wilson_interval_known_values(wins, n, expected):
    lo, hi = wilson_interval(wins, n)
    assert lo == pytest.approx(expected[0], abs=1e-4)
    assert hi == pytest.approx(expected[1], abs=1e-4)


def test_wilson_interval_without_games_is_uninformative():
    assert wilson_interval(0, 0) == (0.0, 1.0)


# ---- Elo -------------------------------------------------------------------------------------


def test_elo_fit_recovers_known_strengths():
    true = {"random": 0.0, "heuristic": 250.0, "net_a": 500.0, "net_b": 650.0, "weak": -150.0}
    rng = np.random.default_rng(0)
    outcomes = []
    for a, b in combinations(true, 2):
        p = 1.0 / (1.0 + 10 ** ((true[b] - true[a]) / 400))
        wins = rng.random(3000) < p
        outcomes += [(a, b, float(w)) for w in wins]
    elo = fit_elo(outcomes)
    assert elo["random"] == 0.0
    for name, want in true.items():
        assert elo[name] == pytest.approx(want, abs=25), (name, elo)


def test_elo_draws_count_half_and_perfect_records_stay_finite():
    even = fit_elo([("random", "b", 0.5)] * 50)
    assert even["b"] == pytest.approx(0.0, abs=1e-6)
    sweep = fit_elo([("strong", "random", 1.0)] * 100)
    assert math.isfinite(sweep["strong"]) and sweep["strong"] > 800
    with pytest.raises(ValueError):
        fit_elo([("a", "b", 1.5)])


def test_multiplayer_games_decompose_into_pairwise_results():
    match = MatchResult(["x", "y"], "hex8", 4, [GameResult((0, 1, 0, 1), (1, 3, 2, 3), 99, False)])
    as_x = [s if a == "x" else 1.0 - s for a, _, s in pairwise_outcomes([match])]
    # seats of the same agent are not compared; x's seats beat both y seats
    assert as_x == [1.0] * 4
    assert match.games[0].score(0) == 1.0 and match.games[0].agent_rank(1) == 3
    tie = GameResult((0, 1), (1, 1), 10, True)
    assert tie.score(0) == 0.5
    assert pairwise_outcomes([MatchResult(["x", "y"], "hex8", 2, [tie])]) == [("x", "y", 0.5)]


# ---- matches ---------------------------------------------------------------------------------


def test_random_vs_random_is_even_and_seats_rotate():
    result = play_match([random_agent("a"), random_agent("b")], "hex8", 2, 200, seed=3)
    assert len(result.games) == 200
    assert 0.4 <= result.win_rate <= 0.6, result.summary()
    lo, hi = result.interval
    assert lo < 0.5 < hi
    assert [s["games"] for s in result.seat_stats()] == [100, 100]  # alternate who starts


def test_subject_takes_one_seat_rotated_with_more_players_and_moves_are_capped():
    result = play_match([random_agent("a"), random_agent("b")], "square8", 4, 4, seed=0,
                        max_moves=30)
    assert sorted(g.seat_agents for g in result.games) == [(0, 1, 1, 1), (1, 0, 1, 1),
                                                          (1, 1, 0, 1), (1, 1, 1, 0)]
    assert all(g.capped and g.seat_ranks == (1, 1, 1, 1) and g.moves == 30
               for g in result.games)
    assert result.win_rate == 0.25  # agent 0 holds one of the four tied rank-1 seats
    assert result.mean_rank == 2.5 == result.chance()["mean_rank"]  # all tied: (P+1)/2
    assert result.chance()["win_rate"] == 0.25
    assert [s["games"] for s in result.seat_stats()] == [1, 1, 1, 1]


def test_mean_rank_shares_tied_places():
    game = GameResult((1, 0, 1), (2, 1, 2), 50, False)
    assert game.fractional_rank(0) == 1.0 and game.fractional_rank(1) == 2.5
    match = MatchResult(["x", "y"], "hex8", 3, [game, GameResult((0, 1, 1), (3, 1, 2), 9, False)])
    assert match.mean_rank == 2.0 and match.summary()["chance"] == {"win_rate": 1 / 3,
                                                                    "mean_rank": 2.0}


@pytest.mark.parametrize("board", ["square8", "hex8"])
def test_heuristic_beats_random_clearly(board):
    result = play_match([heuristic_agent(), random_agent()], board, 2, 40, seed=1)
    assert result.win_rate >= 0.8, result.summary()


def test_heuristic_score_is_symmetric_at_the_start_and_exact_at_the_end():
    state = new_game("square8", 2)
    assert heuristic_score(state, 1) == heuristic_score(state, 2) == 0.0
    rng = np.random.default_rng(0)
    while state.is_active:
        records = legal_move_records(state)
        apply_record_inplace(state, records[rng.integers(len(records))])
    winner = state.winner
    assert heuristic_score(state, winner) == 1000.0
    assert heuristic_score(state, 3 - winner) == -1000.0


def test_checkpoint_agent_plays_end_to_end(tmp_path):
    from ringrift_ray.net import NetSpec, PolicyValueNet, save_checkpoint

    path = tmp_path / "tiny.pt"
    save_checkpoint(PolicyValueNet(NetSpec("square8", 2, "tiny")), path)
    agent = checkpoint_agent(path, 4, board="square8", players=2, device="cpu")
    assert agent.name == "tiny@4"
    result = play_match([agent, random_agent()], "square8", 2, 2, seed=0, max_moves=80)
    assert len(result.games) == 2 and all(g.moves > 0 for g in result.games)
    # the other search parameters come from `search`; the budget from num_simulations
    narrow = checkpoint_agent(path, 4, device="cpu", search=SearchConfig(
        num_simulations=999, max_num_considered_actions=2))
    assert narrow.name == "tiny@4"
    result = play_match([narrow, random_agent()], "square8", 2, 2, seed=0, max_moves=40)
    assert len(result.games) == 2
    with pytest.raises(ValueError, match="hex8"):
        checkpoint_agent(path, 4, board="hex8", players=2)
    with pytest.raises(FileNotFoundError):
        checkpoint_agent(tmp_path / "missing.pt", 4)


def test_search_agent_takes_a_net_in_memory_or_an_evaluate_fn():
    from ringrift_ray.net import NetSpec, PolicyValueNet

    net = PolicyValueNet(NetSpec("square8", 2, "tiny"))
    agent = search_agent(net, 4, name="mem", device="cpu")
    result = play_match([agent, random_agent()], "square8", 2, 2, seed=0, max_moves=60)
    assert agent.name == "mem" and len(result.games) == 2

    calls = []

    def uniform(states):  # an EvaluateFn: flat logits, zero values, absolute seats
        calls.append(len(states))
        return np.zeros((len(states), num_actions("square8"))), np.zeros((len(states), 2))

    agent = search_agent(uniform, 4, name="flat", num_players=2)
    result = play_match([agent, random_agent()], "square8", 2, 2, seed=1, max_moves=60)
    assert len(result.games) == 2 and calls and max(calls) <= 2  # batched over both games
    with pytest.raises(ValueError, match="num_players"):
        search_agent(uniform, 4, name="flat")


# ---- CLI -------------------------------------------------------------------------------------


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "ringrift_ray.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_cli_match_prints_the_result_line_and_writes_its_json(tmp_path):
    proc = _cli("match", "random", "heuristic", "--games", "6", "--out", "m.json",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    found = re.search(r"^random vs heuristic: win rate (\d\.\d\d) \[\d\.\d\d, \d\.\d\d\] "
                      r"over 6 games$", proc.stdout, re.MULTILINE)
    assert found, proc.stdout
    record = json.loads((tmp_path / "m.json").read_text())
    assert record["specs"] == ["random", "heuristic"] and record["games"] == 6
    assert f"{record['win_rate']:.2f}" == found.group(1) and record["seconds"] >= 0
    assert sum(s["games"] for s in record["seats"]) == 6 and record["board"] == "square8"


def test_cli_match_reports_a_missing_or_foreign_checkpoint(tmp_path):
    proc = _cli("match", "nope.pt:8", "random", "--games", "2", cwd=tmp_path)
    assert proc.returncode == 1
    assert "checkpoint not found: nope.pt" in proc.stderr
    from ringrift_ray.net import NetSpec, PolicyValueNet, save_checkpoint

    save_checkpoint(PolicyValueNet(NetSpec("hex8", 2, "tiny")), tmp_path / "hex.pt")
    proc = _cli("match", "hex.pt", "random", "--board", "square8", "--games", "2", cwd=tmp_path)
    assert proc.returncode == 1
    assert "is for hex8 2p, not square8 2p" in proc.stderr
