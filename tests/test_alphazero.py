"""The main job end to end in a subprocess with the smoke config: exit 0, checkpoints,
Parquet shards, namespaced TensorBoard metrics, the evaluator's league table and promoted
checkpoint; a second run resumes from the checkpoint and continues the league."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(run_dir: Path | str, tmp: Path, *extra: str, timeout: int = 420, scrape_port=None):
    """Run the smoke job; with ``scrape_port``, also scrape its Prometheus endpoint every
    few seconds while it runs (returns ``(result, scrapes)``: ``{series: value}`` each)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    ray_tmp = tempfile.mkdtemp(prefix="rr", dir="/tmp")  # AF_UNIX paths must stay short
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_TMPDIR=ray_tmp, TMPDIR=str(tmp),
               RAY_metrics_report_interval_ms="2000")
    cmd = [sys.executable, "-m", "experiments.alphazero", "--config",
           "experiments/configs/smoke.yaml", "--run-dir", str(run_dir), *extra]
    if scrape_port is not None:
        cmd += ["--set", f"run.metrics_export_port={scrape_port}"]
    try:  # output to files: a full pipe would block the job while the test scrapes
        with (tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err,
              subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err,
                               text=True) as proc):
            scrapes = _scrape_while_running(proc, scrape_port, timeout)
            proc.wait(timeout=60)
            out.seek(0), err.seek(0)
            result = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
        return result if scrape_port is None else (result, scrapes)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)


def _scrape_while_running(proc, port, timeout: float) -> list[dict]:
    deadline, scrapes = time.monotonic() + timeout, []
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(3)
        if port is not None:
            scrapes.append(_scrape(port))
    if proc.poll() is None:
        proc.kill()
    return scrapes


def _scrape(port: int) -> dict[str, float]:
    """``{series name: summed value}`` of the ``ray_ringrift_*`` series ({} if no answer)."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    except OSError:
        return {}
    out: dict[str, float] = {}
    for line in text.decode().splitlines():
        if line.startswith("ray_ringrift_"):
            name, value = line.split("{", 1)[0], float(line.rsplit(" ", 1)[1])
            out[name] = out.get(name, 0.0) + value
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tags(run_dir: Path) -> set[str]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = set()
    for f in (run_dir / "tensorboard").glob("events.out.tfevents.*"):
        acc = EventAccumulator(str(f))
        acc.Reload()
        tags |= set(acc.Tags()["scalars"])
    return tags


def test_smoke_run_end_to_end_and_resume(tmp_path):
    run_dir = tmp_path / "run"
    first, scrapes = _run(run_dir, tmp_path, "--train-steps", "20", scrape_port=_free_port())
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    _check_metrics(scrapes)
    _check_quiet_console(first.stdout + first.stderr)
    assert not list(tmp_path.glob("ckpt-*"))  # staged Ray Train checkpoints are removed
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["error"] is None and summary["train_step"] == 20 and summary["games"] > 0
    assert (run_dir / "config.yaml").exists()
    assert (run_dir / "checkpoints" / "latest.pt").exists()
    assert (run_dir / "checkpoints" / "lowest_loss.pt").exists()
    assert list((run_dir / "replay").glob("square8_2p_*.parquet"))
    tags = _tags(run_dir)
    for tag in ("selfplay/games_per_s", "selfplay/nn_batch_fill", "selfplay/model_lag",
                "selfplay/searched_moves_per_s", "selfplay/simulations_per_s", "buffer/size",
                "buffer/replay_ratio", "train/policy_loss", "train/value_loss",
                "train/samples_per_s", "train/policy_lag", "eval/elo",
                "eval/winrate_vs_random", "eval/winrate_vs_heuristic"):
        assert tag in tags, (tag, sorted(tags))
    assert summary["eval_error"] is None and summary["evaluated"] >= 1
    league = json.loads(Path(summary["league"]).read_text())
    assert league["versions"] and league["versions"][-1]["version"] == 20
    oldest = league["versions"][0]
    assert set(oldest["results"]) == {"random", "heuristic"}  # no best yet
    assert oldest["promoted"] and league["best"] is not None  # the smoke gate always promotes
    assert (run_dir / "checkpoints" / "promoted.pt").exists()
    assert (run_dir / "checkpoints" / f"candidate_{oldest['version']}.pt").exists()
    games = (run_dir / "games" / f"v{oldest['version']}.jsonl").read_text().splitlines()
    assert games and json.loads(games[0])["moves"]  # the evaluator keeps its games
    assert oldest["results"]["random"]["decision"] == "pass"  # the sequential gate's record

    uri = f"file://{run_dir}"  # the same directory as a URI: resumes it, writes in place
    second = _run(uri, tmp_path, "--train-steps", "30")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "resuming from" in second.stderr + second.stdout
    assert json.loads((run_dir / "summary.json").read_text())["train_step"] == 30
    assert "train/resumed_at_step" in _tags(run_dir)  # the trainer restored step 20 (test_faults
    # checks the value after a SIGTERM)
    league = json.loads((run_dir / "league.json").read_text())
    assert league["versions"][-1]["version"] == 30
    assert "best" in league["versions"][-1]["results"]
    assert "eval/winrate_vs_best" in _tags(run_dir)
    assert len(list((run_dir / "replay").glob("*.parquet"))) >= 2
    assert not list(run_dir.parent.glob("file:*"))  # nothing under a local "file:" folder
    from ringrift_ray.cli import views  # the viewing commands read a URI run directory
    from ringrift_ray.eval import run_records

    assert "train/policy_loss" in run_records.load_losses(uri)
    assert views.elo(uri, str(tmp_path / "elo.png")).versions[-1].version == 30
    assert views.show_games(uri)


def _check_metrics(scrapes: list[dict]) -> None:
    """At least 15 of the catalog's metrics were served, and games and train steps grew
    between two scrapes of the running job."""
    from actors.metrics import CATALOG, exported_names

    seen = set().union(*scrapes) if scrapes else set()
    served = {name for name in CATALOG if set(exported_names(name)) & seen}
    assert len(served) >= 15, (sorted(served), len(scrapes))
    answered = [s for s in scrapes if s]  # the exporter served ringrift series
    for counter in ("ray_ringrift_selfplay_games_total", "ray_ringrift_train_steps_total"):
        # a counter is absent until its first increment (Prometheus reads that as 0); on a
        # slow machine all 20 smoke steps can land between two reports
        values = [s.get(counter, 0.0) for s in answered]
        assert len(values) >= 2 and values[-1] > values[0] and values[-1] > 0, (counter, values)


def _check_quiet_console(console: str) -> None:
    """Ray's error line about constructor arguments in the object store (ray#53727) names
    none of the project's actors (they take actor names, `actors.naming`); Ray Train's own
    actors may still print it."""
    ours = ("SelfplayWorker", "ReplayBuffer", "Evaluator", "WeightsStore", "Budget")
    flagged = [line for line in console.splitlines()
               if "constructor arguments in the object store" in line
               and any(f"'{name}'" in line for name in ours)]
    assert not flagged, flagged


def test_bad_config_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("game:\n  board: square9\n")
    out = subprocess.run([sys.executable, "-m", "experiments.alphazero", "--config", str(bad)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "square9" in out.stderr


def test_corrupt_checkpoint_in_run_dir_is_a_clear_error(tmp_path):
    ckpt = tmp_path / "run" / "checkpoints" / "latest.pt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"not a checkpoint")
    out = subprocess.run([sys.executable, "-m", "experiments.alphazero", "--config",
                          "experiments/configs/smoke.yaml", "--run-dir", str(tmp_path / "run")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "latest.pt" in out.stderr and "not a readable checkpoint" in out.stderr
    assert ckpt.read_bytes() == b"not a checkpoint"  # nothing overwritten


def test_set_overrides_are_validated_before_anything_starts(tmp_path):
    for item, named in (("train.lrr=1", "train.lrr"), ("run.train_workers=0", "train_workers")):
        out = subprocess.run([sys.executable, "-m", "experiments.alphazero", "--config",
                              "experiments/configs/smoke.yaml", "--run-dir", str(tmp_path / "r"),
                              "--set", item], cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 2 and named in out.stderr, out.stderr[-2000:]
        assert not (tmp_path / "r").exists()  # nothing written


def test_a_request_the_cluster_cannot_meet_fails_at_start_naming_both(tmp_path):
    out = _run(tmp_path / "run", tmp_path, "--set", "run.train_workers=3",
               "--set", "run.local_cpus=2", timeout=180)
    assert out.returncode == 1, out.stderr[-3000:]
    assert "CPU: needs 4, cluster has 2" in out.stderr and "train worker" in out.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert "cannot run this job" in summary["error"]
