"""Multi-node smoke run (JSON): wall time of the main job submitted through the Jobs SDK to
a 3-node cluster on this machine (`experiments.ops.local_cluster`: head with no tasks, a
selfplay node, a trainer node), smoke config, 2 DDP train workers pinned to the trainer
node, selfplay pinned to the selfplay node, replay ratio 4.

    python benchmarks/bench_cluster.py --steps 40
"""

import os

os.environ.setdefault("RAY_AUTH_MODE", "token")  # before Ray is imported: read once

import argparse  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from ray.job_submission import JobStatus, JobSubmissionClient  # noqa: E402

from experiments.ops.local_cluster import local_cluster, submit_job  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40)
    args = ap.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    with tempfile.TemporaryDirectory() as tmp, local_cluster() as (dashboard, _):
        run_dir = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "experiments.alphazero", "--config",
               "experiments/configs/smoke.yaml", "--run-dir", str(run_dir)]
        for s in ("run.train_workers=2", "run.selfplay_resources={selfplay_node: 1}",
                  "run.train_resources={trainer_node: 1}", "buffer.target_replay_ratio=4",
                  f"run.train_steps={args.steps}", "eval.enabled=false"):
            cmd += ["--set", s]
        client = JobSubmissionClient(dashboard)
        t0 = time.perf_counter()
        job = submit_job(
            dashboard, " ".join(shlex.quote(c) for c in cmd),
            runtime_env={"working_dir": str(ROOT),
                         "excludes": [".venv", ".git", "runs", "__pycache__", "*.egg-info"],
                         "env_vars": {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
                                      "TMPDIR": tmp}})
        while client.get_job_status(job) not in (JobStatus.SUCCEEDED, JobStatus.FAILED,
                                                 JobStatus.STOPPED):
            time.sleep(1)
        wall = time.perf_counter() - t0
        status = client.get_job_status(job)
        if status != JobStatus.SUCCEEDED:
            sys.exit(f"job {status}:\n{client.get_job_logs(job)[-5000:]}")
        summary = json.loads((run_dir / "summary.json").read_text())
    print(json.dumps({"benchmark": "cluster", "nodes": 3, "train_workers": 2,
                      "train_steps": summary.get("train_step"), "status": str(status),
                      "games": summary.get("games"), "wall_s": round(wall, 1)}, indent=2))


if __name__ == "__main__":
    main()
