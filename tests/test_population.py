"""The population league (ringrift_ray/eval/population.py): records on one Elo scale, the
ranking that picks the best member, exploit events, the typed table's JSON (old files read
back unchanged, malformed ones named), the text table and the plot (cli/plots.py)."""

import json

import pytest

from ringrift_ray.cli import plots
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
    table = _record(table, "m0", [1, 1, 1, 0], now=5.0)
    table = _record(table, "m1", [0, 0, 1, 0], now=6.0)
    a, b = table.versions
    assert (a.name, b.name) == ("m0-0", "m1-1") and a.version == 0
    assert table.elo["random"] == 0.0 and a.elo > b.elo
    assert [v.member for v in population.ranking(table)] == ["m0", "m1"]
    table = _record(table, "m1", [1, 1, 1, 1], iteration=2, step=20, exploited_from="m0",
                    config={"train.lr": 1e-3}, now=9.0)
    c = table.versions[-1]
    assert c.name == "m1-2" and c.wall_s == 9.0
    assert population.ranking(table)[0].name == "m1-2"  # newest entry per member
    assert population.latest_by_member(table)["m1"].exploited_from == "m0"
    path = tmp_path / "population.json"
    population.save_population(table, path)
    again = population.load_or_new(path, "square8", 2)
    assert again == table and json.loads(path.read_text()) == table.to_json()
    with pytest.raises(ValueError, match="not square8 3p"):
        population.load_or_new(path, "square8", 3)
    text = population.format_population(table)
    assert "2 members, 3 evaluations, 1 exploits" in text and "train.lr=0.001" in text
    out = tmp_path / "elo.png"
    plots.plot_population(table, out)
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_a_main_job_league_is_not_a_population(tmp_path):
    from ringrift_ray.eval import league

    path = tmp_path / "league.json"
    league.save_league(league.new_league("square8", 2), path)
    with pytest.raises(ValueError, match="not a population league"):
        population.load_population(path)


OLD_POPULATION = {  # population.py's docstring example
    "format": 1, "kind": "population", "board": "square8", "players": 2,
    "anchor": "random", "started": 1.76e9,
    "elo": {"random": 0.0, "heuristic": 180.2, "m0-0": 35.1, "m2-1": 60.0},
    "pairs": [{"a": "heuristic", "b": "m0-0", "games": 8, "score_a": 5.0},
              {"a": "m0-0", "b": "random", "games": 8, "score_a": 6.5}],
    "versions": [{"version": 0, "name": "m0-0", "member": "m0", "trial_id": "4f2a1_00000",
                  "iteration": 1, "step": 100, "time": 1.76e9 + 61.0, "wall_s": 61.0,
                  "results": {"random": {"games": 8, "win_rate": 0.75,
                                         "interval": [0.41, 0.93]}},
                  "elo": 35.1, "elo_at_eval": 40.2, "exploited_from": None,
                  "config": {"train.lr": 0.002}},
                 {"version": 1, "name": "m2-1", "member": "m2", "trial_id": "4f2a1_00002",
                  "iteration": 3, "step": 300, "time": 1.76e9 + 90.0, "wall_s": 90.0,
                  "results": {}, "elo": 60.0, "elo_at_eval": 61.0, "exploited_from": "m0",
                  "config": {"train.lr": 0.001, "search.c_visit": 50}}],
    "selfplay": [{"version": 3, "name": "m2-1", "time": 1.76e9 + 90.0}]}


def test_an_old_population_file_reads_back_and_writes_the_same_json(tmp_path):
    path = tmp_path / "population.json"
    path.write_text(json.dumps(OLD_POPULATION))
    table = population.load_population(path)
    assert table.selfplay[-1].name == "m2-1" and table.versions[1].exploited_from == "m0"
    assert table.to_json() == OLD_POPULATION
    population.save_population(table, path)
    assert json.loads(path.read_text()) == OLD_POPULATION


def test_a_malformed_population_file_names_file_and_field(tmp_path):
    data = json.loads(json.dumps(OLD_POPULATION))
    data["versions"][1]["iteration"] = "third"
    path = tmp_path / "population.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"population.json: versions\[1\]\.iteration: "):
        population.load_population(path)


def test_the_tables_draw_nothing():
    """Charts live with the pictures (``cli/plots.py``): ``eval/`` never imports matplotlib."""
    from pathlib import Path

    import ringrift_ray.eval

    folder = Path(ringrift_ray.eval.__file__).parent
    assert [p.name for p in folder.glob("*.py") if "matplotlib" in p.read_text()] == []
