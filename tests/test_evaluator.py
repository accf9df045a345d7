"""The evaluator's league table (`ringrift_ray.league`, no Ray): pairwise statistics and
Elo refits, the promotion gate and the best model, atomic persistence, candidate matches.
The `actors.evaluator.Evaluator` actor itself runs in the smoke test (test_alphazero.py)."""

import json

import pytest

from ringrift_ray import league
from ringrift_ray.config import EvalConfig, GateConfig
from ringrift_ray.elo import fit_elo
from ringrift_ray.evaluate import GameResult, MatchResult, pairwise_outcomes, random_agent


def synthetic_match(a: str, b: str, wins: int, losses: int, draws: int = 0) -> MatchResult:
    """A 2-player match of ``a`` (agent 0) against ``b``, seats alternating."""
    games = []
    for i, outcome in enumerate(["w"] * wins + ["l"] * losses + ["d"] * draws):
        seats = (0, 1) if i % 2 == 0 else (1, 0)
        a_rank, b_rank = {"w": (1, 2), "l": (2, 1), "d": (1, 1)}[outcome]
        ranks = tuple(a_rank if agent == 0 else b_rank for agent in seats)
        games.append(GameResult(seats, ranks, 50, outcome == "d"))
    return MatchResult([a, b], "square8", 2, games)


def first_matches(version: int = 10) -> dict:
    name = league.candidate_name(version)
    return {"random": synthetic_match(name, "random", 9, 1),
            "heuristic": synthetic_match(name, "heuristic", 6, 4)}


def test_pairs_are_sufficient_statistics_of_the_elo_fit():
    matches = [synthetic_match("v10", "random", 7, 2, 1),
               synthetic_match("heuristic", "v10", 3, 5, 2),
               synthetic_match("random", "heuristic", 2, 8)]
    raw = pairwise_outcomes(matches)
    table = league.new_league("square8", 2)
    league.add_outcomes(table, raw)
    assert all(p["a"] < p["b"] for p in table["pairs"])
    assert sum(p["games"] for p in table["pairs"]) == len(raw) == 30
    pair = next(p for p in table["pairs"] if (p["a"], p["b"]) == ("random", "v10"))
    assert pair["games"] == 10 and pair["score_a"] == pytest.approx(2.5)  # 2 wins + 1 draw
    refit, direct = league.refit_elo(table), fit_elo(raw)
    assert refit["random"] == 0.0
    for name, elo in direct.items():
        assert refit[name] == pytest.approx(elo, abs=1e-6)


def test_first_candidate_meets_baselines_only_and_becomes_best():
    table = league.new_league("square8", 2, now=1000.0)
    gate = GateConfig(min_vs_random=0.8, min_vs_heuristic=0.6, min_vs_best=0.55)
    entry = league.record_evaluation(table, 10, 10, "/c/candidate_10.pt", first_matches(), gate,
                                     now=1060.0)
    assert entry["promoted"] and entry["wall_s"] == 60.0 and entry["step"] == 10
    assert set(entry["results"]) == {"random", "heuristic"}
    assert "vs best: skipped (no current best)" in entry["reasons"]
    r = entry["results"]["random"]
    assert r["win_rate"] == 0.9 and r["games"] == 10 and r["opponent"] == "random"
    assert r["interval"][0] < 0.9 < r["interval"][1]
    assert table["best"] == {"version": 10, "name": "v10", "checkpoint": "/c/candidate_10.pt"}
    assert entry["elo"] > table["elo"]["heuristic"] > 0.0 == table["elo"]["random"]


def test_failed_gate_keeps_the_best_and_every_elo_is_refit():
    table = league.new_league("square8", 2)
    gate = GateConfig()
    league.record_evaluation(table, 10, 10, "c10", first_matches(), gate)
    second = {"random": synthetic_match("v20", "random", 10, 0),
              "heuristic": synthetic_match("v20", "heuristic", 7, 3),
              "best": synthetic_match("v20", "v10", 5, 5)}
    entry = league.record_evaluation(table, 20, 20, "c20", second, gate)
    assert not entry["promoted"] and table["best"]["name"] == "v10"
    assert entry["results"]["best"]["opponent"] == "v10"
    assert any("vs best: 0.500 < 0.55 (fail)" == r for r in entry["reasons"])
    first = table["versions"][0]
    assert first["elo"] == table["elo"]["v10"]  # refit with the new games
    assert first["elo_at_eval"] != first["elo"]
    with pytest.raises(ValueError, match="not newer"):
        league.record_evaluation(table, 20, 20, "c20", second, gate)
    assert league.last_version(table) == 20


def test_league_round_trips_atomically_and_checks_the_variant(tmp_path):
    path = tmp_path / "run" / "league.json"
    table = league.new_league("hex8", 3)
    league.record_evaluation(table, 5, 5, "c5", first_matches(5), GateConfig())
    league.save_league(table, path)
    assert [p.name for p in path.parent.iterdir()] == ["league.json"]  # no temp file left
    assert league.load_or_new(path, "hex8", 3) == json.loads(json.dumps(table))
    with pytest.raises(ValueError, match="hex8 3p"):
        league.load_or_new(path, "square8", 2)
    assert league.load_or_new(tmp_path / "none.json", "square8", 2)["versions"] == []
    with pytest.raises(FileNotFoundError):
        league.load_league(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        league.load_league(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"format": 99}')
    with pytest.raises(ValueError, match="format"):
        league.load_league(tmp_path / "other.json")


def test_play_candidate_plays_each_opponent_with_the_candidate_first():
    cfg = EvalConfig(games=2, max_moves=40)
    matches = league.play_candidate(random_agent("v3"), random_agent("v1"), "square8", 2, cfg)
    assert list(matches) == ["random", "heuristic", "best"]
    for m in matches.values():
        assert m.names[0] == "v3" and len(m.games) == 2
    assert matches["best"].names[1] == "v1"
    assert list(league.play_candidate(random_agent("v3"), None, "square8", 2, cfg)) == [
        "random", "heuristic"]


def test_format_table_lists_versions_and_baselines():
    table = league.new_league("square8", 2)
    league.record_evaluation(table, 10, 10, "c10", first_matches(), GateConfig())
    text = league.format_table(table)
    assert "best v10" in text and "0.90 [" in text and "yes" in text
    assert "baselines: heuristic" in text and "random 0.0" in text
