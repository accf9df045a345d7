"""Scale-out on one machine: a 3-node `ray.cluster_utils.Cluster` (a head that runs no
tasks, a selfplay node, a trainer node, told apart by custom resources), the main job
submitted through the Jobs SDK to the head's dashboard (token auth on, as Ray 2.60 ships),
2 DDP train workers with the replay-ratio throttle on. The test asserts the job's
artifacts in the ``--run-dir`` it passed, that the effective batch (batch x workers) was
drawn per step, and where each actor ran (State API). It shuts down only the cluster it
started."""

import json
import os
import shlex
import sys
import time
from pathlib import Path

import pytest

from experiments.ops.local_cluster import local_cluster, submit_job

ROOT = Path(__file__).resolve().parents[1]
STEPS, BATCH, WORKERS = 20, 64, 2


@pytest.fixture
def cluster():
    with local_cluster() as (dashboard, nodes):
        yield dashboard, nodes


def _entrypoint(run_dir: Path) -> str:
    sets = ["run.train_workers=2", "run.selfplay_resources={selfplay_node: 1}",
            "run.train_resources={trainer_node: 1}", "buffer.target_replay_ratio=4",
            f"run.train_steps={STEPS}", f"train.batch_size={BATCH}", "eval.enabled=false",
            "run.startup_timeout_s=30"]
    args = [sys.executable, "-m", "experiments.alphazero", "--config",
            "experiments/configs/smoke.yaml", "--run-dir", str(run_dir)]
    for s in sets:
        args += ["--set", s]
    return " ".join(shlex.quote(a) for a in args)


def test_job_submitted_to_a_multi_node_cluster_trains_with_two_ddp_workers(cluster, tmp_path):
    from ray.job_submission import JobStatus, JobSubmissionClient
    from ray.util.state import list_actors

    dashboard, nodes = cluster
    client = JobSubmissionClient(dashboard)
    run_dir = tmp_path / "run"
    job = submit_job(
        dashboard, _entrypoint(run_dir),
        runtime_env={"working_dir": str(ROOT),
                     "excludes": [".venv", ".git", "runs", "__pycache__", "*.egg-info"],
                     "env_vars": {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
                                  "TMPDIR": str(tmp_path)}})
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        status = client.get_job_status(job)
        if status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED):
            break
        time.sleep(2)
    logs = client.get_job_logs(job)
    assert status == JobStatus.SUCCEEDED, logs[-4000:]
    assert f"run directory: {run_dir}" in logs

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["error"] is None and summary["train_step"] == STEPS
    assert (run_dir / "checkpoints" / "latest.pt").exists()
    assert list((run_dir / "replay").glob("square8_2p_*.parquet"))
    window = summary["buffer"]["configs"]["square8/2p"]
    assert window["sampled"] == STEPS * BATCH * WORKERS  # one reservation per DDP step

    where = {}
    for cls in ("SelfplayWorker", "RayTrainWorker", "ReplayBuffer"):
        actors = list_actors(address=dashboard, filters=[("class_name", "=", cls)],
                             detail=True, raise_on_missing_output=False)
        where[cls] = {a.node_id for a in actors}
    assert where["SelfplayWorker"] == {nodes["selfplay"]}
    assert where["RayTrainWorker"] == {nodes["trainer"]}
    assert len(list_actors(address=dashboard, filters=[("class_name", "=", "RayTrainWorker")],
                           raise_on_missing_output=False)) == WORKERS


def test_default_run_dir_outlives_a_submitted_job(monkeypatch):
    from experiments.ops.startup import default_run_dir

    monkeypatch.delenv("RAY_JOB_CONFIG_JSON_ENV_VAR", raising=False)
    assert default_run_dir("experiments/configs/smoke.yaml") == Path("runs") / "smoke"
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", "{}")
    assert default_run_dir("x/square8_2p.yaml") == Path.home() / "ringrift-runs" / "square8_2p"
    assert os.path.isabs(default_run_dir("x/a.yaml"))
