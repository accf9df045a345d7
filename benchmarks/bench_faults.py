"""Faults under load (JSON): the main job (smoke config, 2 selfplay workers, evaluation on)
on a local Ray while `experiments.ops.fault_injector` kills a selfplay worker, the replay
buffer, the evaluator or a Ray Train worker every ``--every`` seconds; per fault kind the
seconds to recover and the samples lost, and the run's own count of lost samples.

    python benchmarks/bench_faults.py --budget 240 --every 15
"""

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import ray

from experiments.ops.fault_injector import NAMESPACE, run_injector
from experiments.ops.local_cluster import free_port

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=240.0, help="time budget of the run (s)")
    ap.add_argument("--every", type=float, default=15.0, help="seconds between kills")
    ap.add_argument("--flush", type=int, default=256, help="buffer.flush_every_samples")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bf", dir="/tmp")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ctx = ray.init(num_cpus=3, include_dashboard=True, dashboard_port=free_port(),
                   _temp_dir=tmp, namespace=NAMESPACE)
    run_dir = Path(tmp) / "soak"
    env = {**os.environ, "RAY_ADDRESS": ctx.address_info["gcs_address"], "TMPDIR": tmp}
    cmd = [sys.executable, "-m", "experiments.alphazero", "--config",
           "experiments/configs/smoke.yaml", "--run-dir", str(run_dir)]
    for s in ("run.selfplay_workers=2", "run.train_steps=100000", "run.checkpoint_every=20",
              f"run.time_budget_s={args.budget}", f"buffer.flush_every_samples={args.flush}"):
        cmd += ["--set", s]
    job = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        events = run_injector("soak", f"http://{ctx.dashboard_url}", args.every,
                              args.budget - 2 * args.every, seed=0)
        code = job.wait(timeout=args.budget + 600)
        summary = json.loads((run_dir / "summary.json").read_text())
    finally:
        if job.poll() is None:
            job.kill()
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    kinds = {}
    for e in events:
        k = kinds.setdefault(e.target, {"kills": 0, "recovered_s": [], "samples_lost": []})
        k["kills"] += 1
        k["recovered_s"].append(e.recovered_s)
        if e.samples_lost is not None:
            k["samples_lost"].append(e.samples_lost)
    print(json.dumps({
        "benchmark": "faults", "exit_code": code, "error": summary.get("error"),
        "train_step": summary.get("train_step"), "games": summary.get("games"),
        "samples": summary.get("samples"), "flush_every_samples": args.flush,
        "by_fault": kinds, "events": [dataclasses.asdict(e) for e in events]}, indent=2))


if __name__ == "__main__":
    main()
