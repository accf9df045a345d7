"""The main job's selfplay rate, an old commit vs this tree, same machine (JSON).

    python benchmarks/bench_main_job.py --old-rev 11324e2 --seconds 300 --repeats 1

Runs ``python -m experiments.alphazero --config CONFIG --time-budget SECONDS`` on the old
commit's tree (``git archive``d into a temporary folder; the repository is not touched) and
on this tree, alternating (old, new, then new, old, ...), each with its own local Ray and
run directory, and reads each run's ``summary.json``: selfplay games and samples per second
of the budget, train steps. Both sides use their own copy of the config file (the default
square8 2p config unless ``--config`` names another), so what "default" means is each
commit's own.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(tree: Path, config: str, seconds: float, run_dir: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t = time.time()
    proc = subprocess.run([sys.executable, "-m", "experiments.alphazero", "--config",
                           str(tree / config), "--time-budget", str(seconds), "--run-dir",
                           str(run_dir)], cwd=tree, env=env, capture_output=True, text=True)
    wall = time.time() - t
    summary_path = run_dir / "summary.json"
    if proc.returncode != 0 or not summary_path.exists():
        return {"error": f"exit {proc.returncode}: {proc.stderr[-1500:]}"}
    s = json.loads(summary_path.read_text())
    generated = s["samples"]["generated"] if "samples" in s else s["samples_generated"]  # old
    return {"games": s["games"], "samples": generated,
            "train_step": s["train_step"], "wall_s": round(wall, 1),
            "games_per_s": round(s["games"] / seconds, 3),
            "samples_per_s": round(generated / seconds, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old-rev", required=True, help="commit of the 'before' side")
    ap.add_argument("--config", default="experiments/configs/square8_2p.yaml")
    ap.add_argument("--seconds", type=float, default=300.0, help="time budget of each run")
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        old.mkdir()
        archive = subprocess.run(["git", "archive", args.old_rev], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        trees = {"old": old, "new": ROOT}
        for r in range(args.repeats):
            for name in (("old", "new") if r % 2 == 0 else ("new", "old")):
                run_dir = Path(tmp) / f"{name}_{r}"
                runs[name].append(_run(trees[name], args.config, args.seconds, run_dir))
                print(name, runs[name][-1], file=sys.stderr, flush=True)
    print(json.dumps({"benchmark": "main_job", "old_rev": args.old_rev, "config": args.config,
                      "seconds": args.seconds, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
