"""The evaluator's league table (`ringrift_ray.eval.league`, no Ray): pairwise statistics and
Elo refits, the sequential gate and the best model (`ringrift_ray.eval.gate`), atomic
persistence, the typed table's JSON (old files read back unchanged, malformed ones named),
candidate matches, kept games (`ringrift_ray.eval.run_records`).
The `actors.evaluator.Evaluator` actor itself runs in the smoke test (test_alphazero.py)."""

import json
import re

import pytest

from ringrift_ray.config import EvalConfig, GateConfig
from ringrift_ray.eval import gate, league, run_records
from ringrift_ray.eval.baselines import random_agent
from ringrift_ray.eval.elo import fit_elo
from ringrift_ray.eval.matches import GameResult, MatchResult, pairwise_outcomes


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
    return {"random": synthetic_match(name, "random", 24, 0),
            "heuristic": synthetic_match(name, "heuristic", 15, 1)}


def first_checks(version: int = 10, cfg: GateConfig | None = None) -> dict:
    return gate.judge(first_matches(version), cfg or GateConfig())


def record(table: league.League, version: int, checks: dict, **kw) -> league.League:
    """`league.record_evaluation` of `gate.decide`'s verdict on ``checks``."""
    return league.record_evaluation(table, version, version, f"c{version}",
                                    gate.decide(checks), **kw)


def test_pairs_are_sufficient_statistics_of_the_elo_fit():
    matches = [synthetic_match("v10", "random", 7, 2, 1),
               synthetic_match("heuristic", "v10", 3, 5, 2),
               synthetic_match("random", "heuristic", 2, 8)]
    raw = pairwise_outcomes(matches)
    table = league.add_outcomes(league.new_league("square8", 2), raw)
    assert all(p.a < p.b for p in table.pairs)
    assert sum(p.games for p in table.pairs) == len(raw) == 30
    pair = next(p for p in table.pairs if (p.a, p.b) == ("random", "v10"))
    assert pair.games == 10 and pair.score_a == pytest.approx(2.5)  # 2 wins + 1 draw
    refit, direct = league.refit_elo(table), fit_elo(raw)
    assert refit["random"] == 0.0
    for name, elo in direct.items():
        assert refit[name] == pytest.approx(elo, abs=1e-6)


def test_first_candidate_meets_baselines_only_and_becomes_best():
    empty = league.new_league("square8", 2, now=1000.0)
    table = league.record_evaluation(empty, 10, 10, "/c/candidate_10.pt",
                                     gate.decide(first_checks()), now=1060.0)
    assert empty.versions == () and empty.best is None  # frozen: recording made a new table
    entry = table.versions[-1]
    assert entry.promoted and entry.wall_s == 60.0 and entry.step == 10
    assert set(entry.results) == {"random", "heuristic"} and entry.games == 40
    assert "vs best: skipped (no current best)" in entry.reasons
    r = entry.results["random"]
    assert r.win_rate == 1.0 and r.games == 24 and r.opponent == "random"
    assert r.test == "wilson" and r.decision == "pass" and r.threshold == 0.85
    assert 0.85 <= r.interval[0] < 1.0 == r.interval[1]
    assert table.best == league.Best(version=10, name="v10", checkpoint="/c/candidate_10.pt")
    assert entry.elo > table.elo["heuristic"] > 0.0 == table.elo["random"]


def test_sprt_decides_against_the_best_and_a_fail_keeps_it():
    table = record(league.new_league("square8", 2), 10, first_checks())
    second = {"random": synthetic_match("v20", "random", 24, 0),
              "heuristic": synthetic_match("v20", "heuristic", 15, 1),
              "best": synthetic_match("v20", "v10", 40, 56)}
    table = record(table, 20, gate.judge(second, GateConfig()))
    entry = table.versions[-1]
    assert not entry.promoted and table.best.name == "v10"
    best = entry.results["best"]
    assert best.opponent == "v10" and best.test == "sprt" and best.decision == "fail"
    assert best.llr <= best.bounds[0] and (best.elo0, best.elo1) == (0.0, 75.0)
    assert any(r.startswith("vs best (v10): 40/96, SPRT(0,75) LLR") for r in entry.reasons)
    first = table.versions[0]
    assert first.elo == table.elo["v10"]  # refit with the new games
    assert first.elo_at_eval != first.elo
    with pytest.raises(ValueError, match="not newer"):
        record(table, 20, first_checks())
    assert league.last_version(table) == 20
    # undecided at the cap is no promotion; a clear win promotes
    even = gate.judge({**second, "best": synthetic_match("v30", "v10", 8, 8)}, GateConfig())
    assert even["best"].decision == "undecided"
    table = record(table, 30, even)
    assert not table.versions[-1].promoted
    won = gate.judge({**second, "best": synthetic_match("v40", "v10", 30, 2)}, GateConfig())
    table = record(table, 40, won)
    assert table.versions[-1].promoted and table.best.name == "v40"


def test_a_check_that_is_off_informs_and_a_failed_baseline_blocks():
    cfg = GateConfig(min_vs_random=0.6, min_vs_heuristic=None, vs_best=False)
    checks = gate.judge({"random": synthetic_match("v5", "random", 16, 0),
                         "heuristic": synthetic_match("v5", "heuristic", 0, 16),
                         "best": synthetic_match("v5", "v1", 0, 16)}, cfg)
    assert [c.decision for c in checks.values()] == ["pass", "info", "info"]
    assert all(c.passed for c in checks.values())
    failed = gate.judge({"random": synthetic_match("v5", "random", 4, 12)}, GateConfig())
    table = record(league.new_league("square8", 2), 5, failed)
    entry = table.versions[-1]
    assert not entry.promoted and entry.results["random"].decision == "fail"
    assert "vs heuristic: not played" in entry.reasons and table.best is None


def test_league_round_trips_atomically_and_checks_the_variant(tmp_path):
    path = tmp_path / "run" / "league.json"
    table = record(league.new_league("hex8", 3), 5, first_checks(5))
    league.save_league(table, path)
    assert [p.name for p in path.parent.iterdir()] == ["league.json"]  # no temp file left
    assert league.load_or_new(path, "hex8", 3) == table
    assert json.loads(path.read_text()) == table.to_json()
    with pytest.raises(ValueError, match="hex8 3p"):
        league.load_or_new(path, "square8", 2)
    assert league.load_or_new(tmp_path / "none.json", "square8", 2).versions == ()
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
    matches = gate.play_candidate(random_agent("v3"), random_agent("v1"), "square8", 2, cfg)
    assert list(matches) == ["random", "heuristic", "best"]
    for m in matches.values():
        assert m.names[0] == "v3" and len(m.games) == 2
    assert matches["best"].names[1] == "v1"
    assert list(gate.play_candidate(random_agent("v3"), None, "square8", 2, cfg)) == [
        "random", "heuristic"]


def test_gate_candidate_stops_as_soon_as_a_test_decides_and_keeps_the_games(tmp_path):
    cfg = EvalConfig(games=8, concurrency=4, max_moves=30,
                     gate={"min_vs_random": 0.0, "min_vs_heuristic": 0.99})
    checks = gate.gate_candidate(random_agent("v3"), random_agent("v1"), "square8", 2, cfg,
                                 seed=7)
    # random: the lower bound >= 0 passes after one batch; the heuristic's 0.99 cannot be
    # reached in 30-move games (draws at best): fail or undecided at the cap, best not played
    assert list(checks) == ["random", "heuristic"]
    assert len(checks["random"].match.games) == 4 and checks["random"].decision == "pass"
    assert checks["heuristic"].decision in ("fail", "undecided")
    assert len(checks["heuristic"].match.games) in (4, 8)
    path = tmp_path / "games" / "v3.jsonl"
    n = run_records.save_games(checks, path, version=3)
    games = run_records.load_games(path)
    assert len(games) == n == sum(len(c.match.games) for c in checks.values())
    g = games[0]
    assert g["candidate"] == "v3" and g["key"] == "random" and len(g["moves"]) == 30
    assert sorted(g["seats"]) == ["random", "v3"] and isinstance(g["seed"], int)
    from ringrift_ray.cli.html_replay import replay_from_moves

    assert len(replay_from_moves("square8", 2, g["moves"])) == 31  # the moves replay
    path.write_text("{not json\n")
    with pytest.raises(ValueError, match="v3.jsonl:1"):
        run_records.load_games(path)


def test_stronger_baselines_play_one_batch_for_elo_before_the_best():
    from ringrift_ray.eval.baselines import agent_from_spec

    cfg = EvalConfig(games=8, concurrency=2, max_moves=30, baselines=("minimax:1",),
                     gate={"min_vs_random": 0.0, "min_vs_heuristic": 0.0})
    extra = {"minimax:1": agent_from_spec("minimax:1", "square8", 2)}
    checks = gate.gate_candidate(random_agent("v3"), random_agent("v1"), "square8", 2, cfg,
                                 seed=3, baselines=extra)
    assert list(checks) == ["random", "heuristic", "minimax:1", "best"]
    extra_check = checks["minimax:1"]
    assert len(extra_check.match.games) == 2 and extra_check.decision == "info"
    assert extra_check.match.names == ["v3", "minimax:1"]
    table = league.record_evaluation(league.new_league("square8", 2), 3, 3, "c.pt",
                                     gate.decide(checks))
    assert "minimax:1" in table.elo and "minimax:1" in table.versions[-1].results


def test_eval_baselines_must_be_uct_or_minimax_specs():
    for bad in (("uct:0",), ("minimax",), ("uct:8", "uct:8")):
        with pytest.raises(ValueError, match="distinct uct:N or minimax:D"):
            EvalConfig(baselines=bad)


def test_format_table_lists_versions_and_baselines():
    table = record(league.new_league("square8", 2), 10, first_checks())
    text = league.format_table(table)
    assert "best v10" in text and "1.00  24g pass" in text and "yes" in text
    assert "baselines: heuristic" in text and "random 0.0" in text
    # a table written before the sequential gate still prints
    old = table.to_json()
    for r in old["versions"][0]["results"].values():
        for key in ("test", "decision", "threshold"):
            r.pop(key)
    assert "1.00 [0.86,1.00]" in league.format_table(league.League.from_json(old, "old"))


OLD_LEAGUE = {  # league.py's docstring example, written before the sequential gate
    "format": 1, "board": "square8", "players": 2, "anchor": "random", "started": 1.76e9,
    "best": {"version": 20, "name": "v20", "checkpoint": "runs/x/checkpoints/candidate_20.pt"},
    "elo": {"random": 0.0, "heuristic": 212.3, "v20": 150.2},
    "versions": [{"version": 20, "name": "v20", "step": 20, "time": 1.76e9 + 81.3,
                  "wall_s": 81.3, "checkpoint": "runs/x/checkpoints/candidate_20.pt",
                  "results": {"random": {"opponent": "random", "games": 20, "win_rate": 0.9,
                                         "interval": [0.70, 0.97]},
                              "heuristic": {"opponent": "heuristic", "games": 20,
                                            "win_rate": 0.55, "interval": [0.34, 0.74]}},
                  "elo": 150.2, "elo_at_eval": 148.0, "promoted": True,
                  "reasons": ["vs random: 0.900 >= 0.85 (pass)", "vs best: skipped"]}],
    "pairs": [{"a": "heuristic", "b": "v20", "games": 20, "score_a": 9.0},
              {"a": "random", "b": "v20", "games": 20, "score_a": 2.0}]}


def test_an_old_league_file_reads_back_and_writes_the_same_json(tmp_path):
    path = tmp_path / "league.json"
    path.write_text(json.dumps(OLD_LEAGUE))
    table = league.load_league(path)
    assert table.best.name == "v20" and table.versions[0].games is None
    assert table.versions[0].results["random"].decision is None
    assert table.to_json() == OLD_LEAGUE
    league.save_league(table, path)
    assert json.loads(path.read_text()) == OLD_LEAGUE
    # recording a gated candidate on it keeps the old entry as it was
    checks = gate.judge({"random": synthetic_match("v30", "random", 24, 0),
                         "heuristic": synthetic_match("v30", "heuristic", 15, 1),
                         "best": synthetic_match("v30", "v20", 70, 26)}, GateConfig())
    newer = record(table, 30, checks)
    assert newer.best.name == "v30" and newer.to_json()["versions"][0] == {
        **OLD_LEAGUE["versions"][0], "elo": newer.elo["v20"]}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t["versions"][0].update(elo="high"),
     r"versions\[0\]\.elo: Input should be a valid number"),
    (lambda t: t["versions"][0].pop("promoted"), r"versions\[0\]\.promoted: Field required"),
    (lambda t: t["pairs"][1].update(colour="red"), r"pairs\[1\]\.colour: Extra inputs"),
    (lambda t: t["versions"][0]["results"]["random"].update(games=None),
     r"versions\[0\]\.results\.random\.games: Input should be a valid integer"),
    (lambda t: t.update(kind="population"), "not a league table"),
])
def test_a_malformed_league_file_is_an_error_naming_file_and_field(tmp_path, edit, message):
    data = json.loads(json.dumps(OLD_LEAGUE))
    edit(data)
    path = tmp_path / "runs" / "league.json"
    path.parent.mkdir()
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}: .*{message}"):
        league.load_league(path)
