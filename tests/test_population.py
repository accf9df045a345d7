"""The population league (ringrift_ray/population.py): records on one Elo scale, the
ranking that picks the best member, exploit events, the table and the plot."""

import json

import pytest

from ringrift_ray.eval import population
from ringrift_ray.eval.matches import GameResult, MatchResult


def _match(names, scores):
    """A 2-player match of ``names[0]`` against ``names[1]``: one game per score of agent 0
    (1 win, 0 loss, 0.5 both ranked 1)."""
    games = []
    for i, s in enumerate(scores):
        ranks = (1, 1) if s == 0.5 else ((1, 2) if s == 1 else (2, 1))
        seats = (0, 1) if i % 2 == 0 else (1, 0)
        games.append(GameResult(seat_agents=seats, seat_ranks=tuple(
            ranks[0] if a == 0 else ranks[1] for a in seats), moves=10, capped=False))
    return MatchResult(names=[names[0], names[1]], board="square8", players=2, games=games)


def _record(table, member, wins_vs_random, **kw):
    c = population.CANDIDATE
    matches = {"random": _match((c, "random"), wins_vs_random),
               "heuristic": _match((c, "heuristic"), [0, 1, 0, 0])}
    outcomes, results = population.summarize(matches)
    return population.record(table, member, kw.pop("iteration", 1), kw.pop("step", 10),
                             outcomes, results, **kw)


def test_records_share_one_elo_scale_and_rank_members(tmp_path):
    table = population.new_population("square8", 2, now=0.0)
    a = _record(table, "m0", [1, 1, 1, 0], now=5.0)
    b = _record(table, "m1", [0, 0, 1, 0], now=6.0)
    assert (a["name"], b["name"]) == ("m0-0", "m1-1") and a["version"] == 0
    assert table["elo"]["random"] == 0.0 and a["elo"] > b["elo"]
    assert [v["member"] for v in population.ranking(table)] == ["m0", "m1"]
    c = _record(table, "m1", [1, 1, 1, 1], iteration=2, step=20, exploited_from="m0",
                config={"train.lr": 1e-3}, now=9.0)
    assert c["name"] == "m1-2" and c["wall_s"] == 9.0
    assert population.ranking(table)[0]["name"] == "m1-2"  # newest entry per member
    assert population.latest_by_member(table)["m1"]["exploited_from"] == "m0"
    path = tmp_path / "population.json"
    path.write_text(json.dumps(table))
    again = population.load_or_new(path, "square8", 2)
    assert again["versions"] == table["versions"]
    with pytest.raises(ValueError, match="not square8 3p"):
        population.load_or_new(path, "square8", 3)
    text = population.format_population(table)
    assert "2 members, 3 evaluations, 1 exploits" in text and "train.lr=0.001" in text
    out = tmp_path / "elo.png"
    population.plot_population(table, out)
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_a_main_job_league_is_not_a_population(tmp_path):
    from ringrift_ray.eval import league

    path = tmp_path / "league.json"
    league.save_league(league.new_league("square8", 2), path)
    with pytest.raises(ValueError, match="not a population league"):
        population.load_population(path)
