"""Faults on a real local Ray: the main job (smoke config) runs as a subprocess joined to
the session's Ray while this test kills its actors by name (namespace ``ringrift``,
``<run name>:<actor>``) and a Ray Train worker by pid; and a driver stopped by SIGTERM
resumes at the step it saved. Each fault's outcome is asserted from the run's
``summary.json``, league table and TensorBoard scalars."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import RAY_SESSION

ROOT = Path(__file__).resolve().parents[1]
FLUSH = 256  # buffer.flush_every_samples of these runs: the most a buffer kill may lose


def _scalars(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = []
    for f in sorted((run_dir / "tensorboard").glob("events.out.tfevents.*")):
        acc = EventAccumulator(str(f))
        acc.Reload()
        if tag in acc.Tags()["scalars"]:
            out += [(e.step, e.value) for e in acc.Scalars(tag)]
    return out


RAY_TMPDIRS: list[str] = []  # made by `_start`, removed at the module's end


@pytest.fixture(scope="module", autouse=True)
def _remove_ray_tmpdirs():
    yield
    for d in RAY_TMPDIRS:
        shutil.rmtree(d, ignore_errors=True)


def _start(run_dir: Path, tmp: Path, *sets: str, address: str | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    # Ray's own files under a short folder: AF_UNIX socket paths are limited to 107 bytes,
    # which a pytest tmp_path (pytest-1000/...) plus Ray's session path can exceed
    RAY_TMPDIRS.append(tempfile.mkdtemp(prefix="rf", dir="/tmp"))
    env.update(RAY_USAGE_STATS_ENABLED="0", TMPDIR=str(tmp), RAY_TMPDIR=RAY_TMPDIRS[-1])
    if address:
        env["RAY_ADDRESS"] = address
    args = [sys.executable, "-m", "experiments.alphazero", "--config",
            "experiments/configs/smoke.yaml", "--run-dir", str(run_dir),
            "--set", f"buffer.flush_every_samples={FLUSH}", "--set", "run.log_every_s=2"]
    for s in sets:
        args += ["--set", s]
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _actor(ray, name: str):
    try:
        return ray.get_actor(name, namespace="ringrift")
    except ValueError:
        return None


def _train_worker_pid(ray) -> int | None:
    from ray.util.state import list_actors

    alive = list_actors(address=RAY_SESSION["dashboard"], detail=True,
                        filters=[("class_name", "=", "RayTrainWorker"), ("state", "=", "ALIVE")],
                        raise_on_missing_output=False)
    return alive[0].pid if alive else None


def _restarts(prefix: str, names: list[str]) -> dict[str, int] | None:
    """Restart counts of the named actors, once every one of them is alive again."""
    from ray.util.state import list_actors

    alive = {a.name: a.num_restarts for a in list_actors(
        address=RAY_SESSION["dashboard"], detail=True, filters=[("state", "=", "ALIVE")],
        raise_on_missing_output=False) if a.name}
    got = {n: alive.get(prefix + n, 0) for n in names}
    return got if all(got.values()) else None


def test_run_survives_killed_actors(ray_session, tmp_path):
    ray = ray_session
    run_dir = tmp_path / "faults"
    job = _start(run_dir, tmp_path, "run.train_steps=60", "run.time_budget_s=300",
                 "run.checkpoint_every=10", address=RAY_SESSION["address"])
    try:
        name = "faults:"
        _wait_for(lambda: (run_dir / "checkpoints" / "latest.pt").exists(), 240, "a checkpoint")
        killed = []
        for what in ("selfplay_0", "replay_buffer", "evaluator"):
            ray.kill(_wait_for(lambda w=what: _actor(ray, name + w), 60, what), no_restart=False)
            killed.append(what)
            time.sleep(4)
        pid = _wait_for(lambda: _train_worker_pid(ray), 60, "a Ray Train worker")
        os.kill(pid, signal.SIGKILL)
        restarts = _wait_for(lambda: _restarts(name, killed), 60, "the restarts")
        out, _ = job.communicate(timeout=420)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 0, out[-4000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["error"] is None and summary["train_step"] == 60, out[-3000:]
    assert all(n >= 1 for n in restarts.values()), restarts  # each killed actor came back
    samples = summary["samples"]  # the buffer's unwritten samples were sent again, except
    # those whose producer (the killed selfplay_0) was gone too: at most one flush interval
    assert samples["acknowledged_lost"] == 0 and samples["acknowledged"] > 0, samples
    assert 0 <= samples["lost"] <= FLUSH + 64, samples
    assert samples["written"] <= samples["generated"], samples  # none written twice
    resumed = _scalars(run_dir, "train/resumed_at_step")
    assert resumed and all(v > 0 and v % 10 == 0 for _, v in resumed)  # at a checkpoint
    league = json.loads((run_dir / "league.json").read_text())
    assert league["versions"][-1]["version"] == 60  # the restarted evaluator went on
    print(json.dumps({k: summary[k] for k in ("samples", "selfplay_failures",
                                              "evaluator_failures")}))


def test_sigterm_checkpoints_and_the_rerun_resumes_at_that_step(tmp_path):
    """Also runs the weight average (``train.ema_decay``): every Ray Train checkpoint holds
    its state beside the trained weights, and ``latest.pt`` holds the average."""
    run_dir = tmp_path / "stop"
    job = _start(run_dir, tmp_path, "run.train_steps=400", "run.time_budget_s=300",
                 "run.checkpoint_every=10", "eval.enabled=false", "train.ema_decay=0.9")
    try:
        _wait_for(lambda: (run_dir / "checkpoints" / "latest.pt").exists(), 240, "a checkpoint")
        job.send_signal(signal.SIGTERM)
        out, _ = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 0, out[-4000:]
    first = json.loads((run_dir / "summary.json").read_text())
    stopped_at = first["train_step"]
    assert first["stopped_by"] == "SIGTERM" and 0 < stopped_at < 400
    flushed = first["buffer"]["size"]
    _assert_the_average_is_saved(run_dir)

    again = _start(run_dir, tmp_path, f"run.train_steps={stopped_at + 10}",
                   "run.time_budget_s=300", "eval.enabled=false", "train.ema_decay=0.9")
    out, _ = again.communicate(timeout=420)
    assert again.returncode == 0, out[-4000:]
    assert (stopped_at, stopped_at) in [(s, int(v)) for s, v in
                                        _scalars(run_dir, "train/resumed_at_step")]
    second = json.loads((run_dir / "summary.json").read_text())
    assert second["train_step"] == stopped_at + 10
    assert second["buffer"]["size"] >= flushed  # the replay window came back from disk
    _assert_the_average_is_saved(run_dir)


def _assert_the_average_is_saved(run_dir: Path) -> None:
    """The newest Ray Train checkpoint holds the average's state (n_averaged = its step) and
    ``latest.pt`` the averaged weights, not the trained ones."""
    import torch

    newest = max(run_dir.glob("ray_train/*/checkpoint_*/state.json"),
                 key=lambda p: json.loads(p.read_text())["step"]).parent
    step = json.loads((newest / "state.json").read_text())["step"]
    average = torch.load(newest / "average.pt", weights_only=True)
    assert int(average["n_averaged"]) == step
    trained = torch.load(newest / "model.pt", weights_only=True)
    latest = torch.load(run_dir / "checkpoints" / "latest.pt", weights_only=True)
    assert latest["extra"]["step"] == step, (latest["extra"], step)
    weights = latest["state_dict"]
    key = next(k for k, v in trained.items() if v.is_floating_point())
    torch.testing.assert_close(weights[key], average[f"module.{key}"])
    assert not torch.equal(weights[key], trained[key])


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
