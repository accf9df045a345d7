"""The promotion gate: its statistics (`ringrift_ray.eval.gate_stats`: Wilson intervals and
decisions, the Elo logistic, Wald's SPRT bounds and the Bernoulli LLR, with known values and
properties) and its decision (`ringrift_ray.eval.gate.decide`). Playing the gate's matches is
tested in test_evaluator.py."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringrift_ray.config import GateConfig
from ringrift_ray.eval import gate, gate_stats
from ringrift_ray.eval.matches import GameResult, MatchResult


@pytest.mark.parametrize(("score", "n", "expected"), [
    (5, 10, (0.2366, 0.7634)), (10, 10, (0.7225, 1.0)), (62, 100, (0.5221, 0.7090))])
def test_wilson_interval_known_values(score, n, expected):
    assert gate_stats.wilson_interval(score, n) == pytest.approx(expected, abs=1e-4)


def test_elo_and_score_are_the_logistic_pair():
    assert gate_stats.elo_to_score(0) == 0.5
    assert gate_stats.elo_to_score(400) == pytest.approx(10 / 11)
    assert gate_stats.score_to_elo(0.75) == pytest.approx(190.85, abs=0.01)
    assert gate_stats.score_to_elo(1.0) == math.inf
    with pytest.raises(ValueError):
        gate_stats.score_to_elo(1.5)


def test_sprt_known_values():
    lower, upper = gate_stats.sprt_bounds(0.05, 0.05)
    assert (lower, upper) == pytest.approx((-math.log(19), math.log(19)))
    p1 = gate_stats.elo_to_score(75)  # 0.6064
    assert gate_stats.sprt_llr(10, 10, 0, 75) == pytest.approx(10 * math.log(p1 / 0.5))
    assert gate_stats.sprt_llr(0, 10, 0, 75) == pytest.approx(10 * math.log((1 - p1) / 0.5))
    # a draw is half a win and half a loss
    assert gate_stats.sprt_llr(0.5, 1, 0, 75) == pytest.approx(
        0.5 * math.log(p1 / 0.5) + 0.5 * math.log((1 - p1) / 0.5))
    # 16 straight wins vs the best decide at +0/+75 Elo: LLR 3.08 >= 2.94
    assert gate_stats.sprt_decision(gate_stats.sprt_llr(16, 16, 0, 75), 0.05, 0.05) == "pass"
    assert gate_stats.sprt_decision(gate_stats.sprt_llr(8, 16, 0, 75), 0.05, 0.05) == "continue"
    assert gate_stats.sprt_decision(gate_stats.sprt_llr(40, 96, 0, 75), 0.05, 0.05) == "fail"
    with pytest.raises(ValueError, match="elo0 < elo1"):
        gate_stats.sprt_llr(1, 2, 50, 50)
    with pytest.raises(ValueError):
        gate_stats.sprt_bounds(0.5, 0.05)


def test_wilson_decision():
    assert gate_stats.wilson_decision(16, 16, 0.6) == "pass"  # lower bound 0.81
    assert gate_stats.wilson_decision(10, 16, 0.6) == "continue"
    assert gate_stats.wilson_decision(2, 16, 0.6) == "fail"
    assert gate_stats.wilson_decision(0, 0, 0.0) == "continue"


@given(st.integers(1, 400), st.floats(0, 1), st.floats(0, 1))
def test_wilson_interval_contains_the_rate_and_is_monotone(n, f, g):
    lo_score, hi_score = sorted((f * n, g * n))
    lo, hi = gate_stats.wilson_interval(lo_score, n)
    assert 0.0 <= lo <= hi <= 1.0
    assert lo <= lo_score / n + 1e-12 <= hi + 2e-12
    lo2, hi2 = gate_stats.wilson_interval(hi_score, n)
    assert lo2 >= lo - 1e-12 and hi2 >= hi - 1e-12  # more wins: the interval moves up


@given(st.integers(1, 300), st.floats(0, 1), st.floats(-200, 200), st.floats(1, 300))
def test_llr_rises_with_the_score_and_is_zero_at_the_midpoint(n, f, elo0, width):
    elo1 = elo0 + width
    llr = gate_stats.sprt_llr(f * n, n, elo0, elo1)
    assert gate_stats.sprt_llr(min(n, f * n + 1), n, elo0, elo1) >= llr
    # the score at which LLR = 0 lies between the two hypotheses' expected scores
    p0, p1 = gate_stats.elo_to_score(elo0), gate_stats.elo_to_score(elo1)
    a, b = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
    zero = -b / (a - b)
    assert p0 < zero < p1


def test_gate_config_rejects_the_point_threshold_and_bad_bounds():
    with pytest.raises(ValueError, match="min_vs_best is gone"):
        GateConfig(min_vs_best=0.55)
    with pytest.raises(ValueError, match="elo0 < elo1"):
        GateConfig(elo0=10, elo1=0)
    with pytest.raises(ValueError):
        GateConfig(alpha=0.6)


def _checks(best_wins: int | None = None, **gate_cfg) -> dict:
    from test_evaluator import synthetic_match

    matches = {"random": synthetic_match("v5", "random", 24, 0),
               "heuristic": synthetic_match("v5", "heuristic", 15, 1)}
    if best_wins is not None:
        matches["best"] = synthetic_match("v5", "v1", best_wins, 96 - best_wins)
    return gate.judge(matches, GateConfig(**gate_cfg))


def test_decide_promotes_when_every_check_passes():
    verdict = gate.decide(_checks(best_wins=70))
    assert verdict.promoted and verdict.games == 24 + 16 + 96
    assert [c.decision for c in verdict.checks.values()] == ["pass", "pass", "pass"]
    assert len(verdict.reasons) == 3 and verdict.reasons[2].startswith("vs best (v1): 70/96")
    first = gate.decide(_checks())  # no best yet: the baselines decide
    assert first.promoted and first.reasons[-1] == "vs best: skipped (no current best)"


def test_decide_refuses_a_failed_undecided_or_missing_check_with_its_reason():
    lost = gate.decide(_checks(best_wins=30))
    assert not lost.promoted and lost.checks["best"].decision == "fail"
    assert lost.reasons[2].endswith(": fail") and "SPRT(0,75)" in lost.reasons[2]
    strict = gate.decide(_checks(min_vs_heuristic=0.95))  # 15/16 cannot show 0.95
    assert not strict.promoted and strict.reasons[1].endswith(": undecided")
    assert strict.reasons[-1] == "vs best: not played"
    only_random = {"random": _checks()["random"]}
    missing = gate.decide(only_random)
    assert not missing.promoted and "vs heuristic: not played" in missing.reasons
    off = gate.decide(_checks(best_wins=0, vs_best=False))  # a check that is off informs
    assert off.promoted and off.checks["best"].decision == "info"


def _four_player_match(candidate_rank: int, games: int = 96) -> MatchResult:
    """The candidate (agent 0) at one seat, rotating, the best at the other three; the
    candidate ranks ``candidate_rank`` every game, the best's copies take the other places."""
    out = []
    for g in range(games):
        seats = tuple(0 if s == g % 4 else 1 for s in range(4))
        others = iter(r for r in (1, 2, 3, 4) if r != candidate_rank)
        out.append(GameResult(seats, tuple(candidate_rank if a == 0 else next(others)
                                           for a in seats), 80, False))
    return MatchResult(["v9", "v5"], "square8", 4, out)


def test_sprt_against_the_best_reads_the_pairwise_score_with_four_players():
    # second place every game: win share 0 (chance 1/4), but better than two of the three
    # copies of the best: pairwise score 2/3, well above an equal candidate's 1/2
    second = _four_player_match(candidate_rank=2)
    assert second.wins == 0 and gate.pairwise_score(second) == pytest.approx(96 * 2 / 3)
    non_regression = GateConfig(elo0=-75, elo1=0)
    assert gate.check("best", second, non_regression).decision == "pass"
    third = _four_player_match(candidate_rank=3)  # worse than two copies: 1/3
    assert gate.check("best", third, non_regression).decision == "fail"
    # the baselines' Wilson checks keep the win share (thresholds per player count)
    assert gate.check("random", second, GateConfig(min_vs_random=0.2)).decision == "fail"
    # two players: the pairwise score is the game score, ties (capped games) half
    from test_evaluator import synthetic_match

    two = synthetic_match("v9", "v5", 40, 30, draws=10)
    assert gate.pairwise_score(two) == two.wins == 45
