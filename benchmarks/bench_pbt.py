"""PBT with its population vs the main job alone, same machine, same config, same time
budget (JSON on stdout): selfplay games/s (one selfplay stream in both), train steps per
member vs the main job's trainer, and what Tune costs in wall clock.

    python benchmarks/bench_pbt.py [--config experiments/configs/pbt_smoke.yaml]
                                   [--seconds 180] [--population 4]
                                   [--variant NAME:KEY=VALUE,KEY=VALUE ...]

Each ``--variant`` is one PBT run with those ``--set`` overrides (default: the config as is,
"interval2" = 20 steps per iteration, decisions every 2 iterations, 4 evaluation games per
opponent, 6 checkpoints kept, and "async" = interval2 with asynchronous PBT).

The main job runs the config's shared part (``PBTExperimentConfig.main_config``) with
evaluation off: one selfplay stream plus one Ray Train trainer. PBT runs the same selfplay
and buffer with ``--population`` members, each training and evaluating itself (``eval.*``
games per iteration). Each is a fresh subprocess with its own local Ray; ``wall_s`` counts
from the process start (imports, Ray start) to its exit.

Tune's overhead, from Tune's own results: ``tune_startup_s`` (``Tuner.fit`` called -> first
member function running), ``member_busy_fraction`` (share of member-seconds spent inside
the member function between reports: training, evaluating, waiting for samples; the rest is
Tune pausing / restarting members for synchronous PBT and exploits), ``member_restarts``
(function starts beyond the first per member) and ``fit_tail_s`` (the budget's end ->
``fit`` returned).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], tmp: Path, timeout: float) -> float:
    """Run ``python -m ...args`` with its own Ray under ``tmp``; returns its wall seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    ray_tmp = tempfile.mkdtemp(prefix="rb", dir="/tmp")
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_TMPDIR=ray_tmp, TMPDIR=str(tmp))
    t0 = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    if out.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{out.stderr[-4000:]}")
    return time.perf_counter() - t0


def main_job(config: str, seconds: float, tmp: Path) -> dict:
    from experiments.tune.config import PBTExperimentConfig
    from ringrift_ray.config import load_yaml

    cfg = load_yaml(ROOT / config, PBTExperimentConfig).main_config()
    path = tmp / "main.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(), sort_keys=False))
    run_dir = tmp / "main"
    wall = _run(["experiments.alphazero", "--config", str(path), "--run-dir", str(run_dir),
                 "--time-budget", str(seconds), "--set", "eval.enabled=false",
                 "--set", "run.train_steps=1000000"], tmp, seconds + 600)
    s = json.loads((run_dir / "summary.json").read_text())
    return {"wall_s": round(wall, 1), "games": s["games"],
            "selfplay_games_per_s": round(s["games"] / seconds, 3),
            "train_steps": s["train_step"],
            "samples_trained": s["buffer"]["configs"]["square8/2p"]["sampled"]}


def pbt(config: str, seconds: float, population: int, tmp: Path, name: str,
        overrides: list[str]) -> dict:
    from ray.tune import ExperimentAnalysis

    run_dir = tmp / name
    sets = [f"pbt.population={population}", "pbt.iterations=100000", *overrides]
    wall = _run(["experiments.pbt", "--config", config, "--run-dir", str(run_dir),
                 "--time-budget", str(seconds), *[x for s in sets for x in ("--set", s)]],
                tmp, seconds + 600)
    s = json.loads((run_dir / "summary.json").read_text())
    frames = ExperimentAnalysis(str(run_dir / "tune" / name)).trial_dataframes.values()
    steps = sorted(int(df["pbt/step"].max()) for df in frames)
    starts = [set(df["pbt/started_at"]) for df in frames]
    busy = sum(float(df["time_this_iter_s"].sum()) for df in frames)
    fit_s = s["tune_fit_s"]
    return {"overrides": overrides, "wall_s": round(wall, 1), "games": s["games"],
            "selfplay_games_per_s": round(s["games"] / seconds, 3),
            "train_steps_per_member": steps,
            "samples_trained": s["buffer"]["configs"]["square8/2p"]["sampled"],
            "evaluations": s["evaluations"], "exploits": s["exploits"],
            "tune_startup_s": round(min(min(x) for x in starts) - s["fit_started_at"], 1),
            "member_busy_fraction": round(busy / (population * fit_s), 3),
            "member_restarts": sum(len(x) - 1 for x in starts),
            "fit_tail_s": round(fit_s - seconds, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="experiments/configs/pbt_smoke.yaml")
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--population", type=int, default=4)
    ap.add_argument("--variant", action="append", metavar="NAME:KEY=VALUE,...",
                    help="a PBT run with these --set overrides (repeatable)")
    args = ap.parse_args()
    interval2 = ("pbt.steps_per_iteration=20,pbt.perturbation_interval=2,eval.games=4,"
                 "pbt.checkpoints_to_keep=6")
    variants = args.variant or ["as_config:", f"interval2:{interval2}",
                                f"async:{interval2},pbt.synch=false"]
    load = [round(os.getloadavg()[0], 2)]
    with tempfile.TemporaryDirectory(prefix="bench-pbt-") as tmp:
        main = main_job(args.config, args.seconds, Path(tmp))
        runs = {}
        for variant in variants:
            name, _, sets = variant.partition(":")
            load.append(round(os.getloadavg()[0], 2))
            runs[name] = pbt(args.config, args.seconds, args.population, Path(tmp), name,
                             [x for x in sets.split(",") if x])
            runs[name]["selfplay_games_per_s_vs_main"] = round(
                runs[name]["selfplay_games_per_s"] / max(main["selfplay_games_per_s"], 1e-9), 3)
    load.append(round(os.getloadavg()[0], 2))
    print(json.dumps({"config": args.config, "seconds": args.seconds,
                      "population": args.population, "cpus": os.cpu_count(),
                      "load_average_1m_at_each_start_and_end": load, "main_job": main,
                      "pbt": runs}, indent=2))


if __name__ == "__main__":
    main()
