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
    proc = _cli("bench", "rules", "--seconds", "0.2", "--boards", "square8", "--markdown",
                str(md), cwd=tmp_path)
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
