"""Old vs new selfplay side by side (JSON): `bench_selfplay.py` run in interleaved rounds on
an old commit's tree (``--old-modes``, default ``batch``: the only mode early trees had) and on
this tree (``--new-modes``, default ``batch`` and ``continuous``), each tree with its own copy of
`bench_selfplay.py` (so a tree whose modules moved still runs), medians and spread per variant.

    python benchmarks/bench_selfplay_ab.py --old-rev 11324e2 --repeats 5

``--trees python compiled`` compares this tree's search trees instead (``search.tree``, via
``bench_selfplay.py --tree``; ``--old-rev`` then optional):

    python benchmarks/bench_selfplay_ab.py --trees python compiled --new-modes continuous

The old tree is ``git archive``d into a temporary folder (the repository is not touched).
Wall-clock rates depend on what else the machine runs; ``searched_moves_per_cpu_s`` (CPU
time of the benchmark process, one torch thread) is the steadier comparison.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("searched_moves_per_s", "searched_moves_per_cpu_s", "nn_batch_fill", "games_per_s")


def _run(tree: Path, mode: str, extra: list[str], bench_args: list[str]) -> dict:
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, str(tree / "benchmarks" / "bench_selfplay.py"),
                          "--mode", mode, *extra, *bench_args], env=env, cwd=tree, check=True,
                         capture_output=True, text=True).stdout
    result = json.loads(out)
    assert result["library"].startswith(str(tree)), result["library"]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old-rev", default=None, help="commit of the old selfplay")
    ap.add_argument("--trees", nargs="+", default=None, choices=("python", "compiled"),
                    help="this tree's variants by search.tree (instead of the old commit)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--old-modes", nargs="+", default=["batch"], choices=("batch", "continuous"))
    ap.add_argument("--new-modes", nargs="+", default=["batch", "continuous"],
                    choices=("batch", "continuous"))
    ap.add_argument("bench_args", nargs="*", help="passed to bench_selfplay.py (after --)")
    args = ap.parse_args()
    if args.old_rev is None and args.trees is None:
        ap.error("give --old-rev, --trees or both")
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp)
        variants = {f"new_{m}": (ROOT, m, []) for m in args.new_modes}
        if args.trees is not None:
            variants = {f"{t}_{m}": (ROOT, m, ["--tree", t]) for t in args.trees
                        for m in args.new_modes}
        if args.old_rev is not None:
            archive = subprocess.run(["git", "archive", args.old_rev], cwd=ROOT, check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
            variants = {**{f"old_{m}": (old, m, []) for m in args.old_modes}, **variants}
        runs: dict[str, list[dict]] = {k: [] for k in variants}
        for r in range(args.repeats):
            order = list(variants) if r % 2 == 0 else list(reversed(variants))
            for name in order:
                runs[name].append(_run(*variants[name], args.bench_args))
    summary = {"benchmark": "selfplay_ab", "old_rev": args.old_rev, "trees": args.trees,
               "repeats": args.repeats,
               "bench_args": args.bench_args}
    for name, rs in runs.items():
        summary[name] = {k: {"median": statistics.median(x[k] for x in rs),
                             "min": min(x[k] for x in rs), "max": max(x[k] for x in rs)}
                         for k in KEYS}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
