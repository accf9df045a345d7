"""``ringrift-ray`` end to end in a subprocess, with tiny budgets."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

# first use compiles the numba kernels (about a minute); later runs load the disk cache
TIMEOUT_S = 900


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ringrift_ray.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def test_play_prints_board_winner_and_ranks(tmp_path):
    proc = _cli("play", "--board", "hex8", "--players", "3", "--seed", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("hex8 3p")
    assert "winner: " in out
    assert "victory reason: " in out
    ranks_line = next(line for line in out.splitlines() if line.startswith("ranks: "))
    assert ranks_line.count("player") == 3


def test_play_is_reproducible_and_respects_max_moves(tmp_path):
    args = ("play", "--board", "square8", "--seed", "7", "--max-moves", "5", "--verbose")
    first = _cli(*args, cwd=tmp_path)
    second = _cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert "moves: 5" in first.stdout
    assert "game unfinished after 5 moves" in first.stdout
    assert "    5  " in first.stdout  # the fifth move, numbered, with --verbose


@pytest.mark.parametrize("bad", [("--board", "square9"), ("--players", "5")])
def test_play_rejects_bad_board_and_players(tmp_path, bad):
    proc = _cli("play", *bad, cwd=tmp_path)
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_swap_rule_needs_two_players(tmp_path):
    proc = _cli("play", "--players", "3", "--swap-rule", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--swap-rule" in proc.stderr


def test_bench_rules_prints_json(tmp_path):
    md = tmp_path / "table.md"
    script = Path(__file__).parents[1] / "benchmarks" / "bench_rules.py"
    proc = subprocess.run([sys.executable, str(script), "--seconds", "0.2", "--boards", "square8",
                           "--markdown", str(md)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    r = result["boards"]["square8"]
    assert list(result["boards"]) == ["square8"]
    assert r["kernel"]["games"] >= 1 and r["kernel"]["moves_per_s"] > 0
    assert r["kernel"]["replay_mismatches"] == 0
    assert r["kernel"]["unfinished_games"] == 0
    assert r["python_api"]["moves"] >= 1 and r["validated"]["moves"] >= 1
    assert r["reference_moves_per_s"] == 383.0
    assert r["speedup_kernel"] == pytest.approx(r["kernel"]["moves_per_s"] / 383.0)
    assert md.read_text().startswith("| board |")


def test_elo_prints_the_league_table_and_plots_elo_and_losses(tmp_path):
    from test_evaluator import first_checks, synthetic_match
    from torch.utils.tensorboard import SummaryWriter

    from ringrift_ray.config import GateConfig
    from ringrift_ray.eval import gate, league, run_records

    table = league.new_league("square8", 2, now=0.0)
    table = league.record_evaluation(table, 10, 10, "c10", gate.decide(first_checks()),
                                     now=600.0)
    second = {"random": synthetic_match("v20", "random", 24, 0),
              "heuristic": synthetic_match("v20", "heuristic", 15, 1),
              "best": synthetic_match("v20", "v10", 4, 6)}
    table = league.record_evaluation(
        table, 20, 20, "c20", gate.decide(gate.judge(second, GateConfig())), now=1200.0)
    run_dir = tmp_path / "run"
    league.save_league(table, run_dir / "league.json")
    writer = SummaryWriter(str(run_dir / "tensorboard"))
    for step in (5, 10, 20):
        writer.add_scalar("train/policy_loss", 3.0 / step, step)
        writer.add_scalar("train/value_loss", 1.0 / step, step)
    writer.close()
    assert [s for s, _ in run_records.load_losses(run_dir)["train/value_loss"]] == [5, 10, 20]
    proc = _cli("elo", str(run_dir), "--out", "elo.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "league square8 2p: 2 versions, best v10"
    assert "promoted" in lines[1] and "elo" in lines[1]
    assert lines[2].split()[:2] == ["10", "10"] and lines[2].endswith("yes")
    assert lines[3].split()[:2] == ["20", "20"] and lines[3].endswith("no")
    assert "undec" in lines[3]
    assert "loss curves: train/policy_loss, train/value_loss" in proc.stdout
    assert (tmp_path / "elo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_elo_reports_a_missing_run_dir_or_league(tmp_path):
    proc = _cli("elo", str(tmp_path / "nope"), cwd=tmp_path)
    assert proc.returncode == 1 and "run directory not found" in proc.stderr
    proc = _cli("elo", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 1 and "league table not found" in proc.stderr
    assert not (tmp_path / "elo.png").exists()


def test_show_lists_a_runs_evaluation_games_and_replays_one(tmp_path):
    from ringrift_ray.cli.html_replay import random_game

    games = tmp_path / "run" / "games"
    games.mkdir(parents=True)
    for version in (10, 20):
        records = [{"candidate": f"v{version}", "version": version, "key": "random",
                    "opponent": "random", "game": i, "seed": 1, "seats": [f"v{version}",
                    "random"], "ranks": [1, 2], "score": 1.0, "capped": False,
                    "board": "square8", "players": 2, "moves": random_game("square8", 2, i,
                                                                          12)[1]}
                   for i in range(2)]
        (games / f"v{version}.jsonl").write_text("".join(json.dumps(r) + "\n"
                                                         for r in records))
    proc = _cli("show", str(tmp_path / "run"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "v20.jsonl: 2 games" in proc.stdout and "v20 vs random" in proc.stdout
    proc = _cli("show", str(tmp_path / "run"), "--candidate", "v10", "--game", "1", "--out",
                "g.html", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "wrote g.html (12 moves, 13 positions)" in proc.stdout
    assert "v10 vs random, game 1" in (tmp_path / "g.html").read_text()
    proc = _cli("show", str(tmp_path / "run"), "--game", "5", "--out", "g.html", cwd=tmp_path)
    assert proc.returncode == 1 and "has games 0..1" in proc.stderr
    proc = _cli("show", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 1 and "no evaluation games" in proc.stderr
