"""Hyperparameter search: Ray Tune with Optuna's TPE sampler (`OptunaSearch`) proposing
configurations and ASHA (Li et al., MLSys 2020) stopping the weak ones early.

    python -m experiments.tune_search --config experiments/configs/search_square8_2p.yaml \\
        [--run-dir DIR] [--set tuning.samples=32 ...]
    RAY_AUTH_MODE=token ray job submit --working-dir . -- \\
        python -m experiments.tune_search --config experiments/configs/search_square8_2p.yaml

Each trial (`experiments.tune.trial.search_trial`) is a whole small AlphaZero in one
process; its objective, ``search/win_rate``, is the win rate against a fixed opponent
(``tuning.opponent``) after each iteration of selfplay and training: a cheap proxy for
playing strength after a short training budget. The searched keys (``tuning.space``) are
dotted keys of the main config, e.g. ``net.preset``, ``train.lr``,
``search.num_simulations``, ``search.max_num_considered_actions``, ``search.c_visit``,
``search.c_scale``, ``selfplay.value_target_q_weight``, ``buffer.target_replay_ratio``.

The best configuration, among the trials that ran all ``tuning.iterations`` (ASHA's
survivors), ranked by the mean win rate of their last two evaluations, is written as a
ready main-job config:

    python -m experiments.alphazero --config RUN_DIR/best_config.yaml

The run directory: ``config.yaml`` (resolved), ``tune/<run name>/`` (Ray Tune: trials,
results), ``tensorboard/<trial id>/`` (``search/*``, ``selfplay/*``, ``train/*``),
``trials.json`` (every trial: values, iterations, win rates, stopped early or not),
``best_config.yaml`` and ``summary.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import time
from pathlib import Path

import yaml
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch

from experiments.ops.startup import Job, Startup, StartupError, start
from experiments.tune.config import SearchExperimentConfig
from experiments.tune.trial import TrialSetup, search_trial
from ringrift_ray.config import with_overrides

log = logging.getLogger("search")
METRIC = "search/win_rate"
JOB = Job(name="tune_search", model=SearchExperimentConfig, local_run_dir=True,
          checks_resources=False)


def make_tuner(cfg: SearchExperimentConfig, run_dir: Path,
               init_weights: dict | None = None) -> tune.Tuner:
    """The `Tuner`: OptunaSearch (seeded) over ``tuning.space``, ASHA on ``search/win_rate``
    with ``training_iteration`` as time, ``tuning.max_concurrent`` trials at once.

    Args:
        cfg: the search's config.
        run_dir: the local run directory (Tune stores under ``tune/``).
        init_weights: ``train.init_checkpoint``'s weights, every trial's start (None: a
            fresh net per trial).

    Returns:
        The `Tuner`, not yet fitted.
    """
    t = cfg.tuning
    trainable = tune.with_resources(
        tune.with_parameters(search_trial, setup=TrialSetup(
            cfg=cfg, run_dir=str(run_dir), init_weights=init_weights)),
        {"cpu": t.trial_cpus})
    return tune.Tuner(
        trainable,
        param_space={k: d.domain() for k, d in t.space.items()},
        tune_config=tune.TuneConfig(
            metric=METRIC, mode="max", num_samples=t.samples, reuse_actors=True,
            max_concurrent_trials=t.max_concurrent, search_alg=OptunaSearch(seed=t.seed),
            scheduler=ASHAScheduler(time_attr="training_iteration", max_t=t.iterations,
                                    grace_period=t.grace_period,
                                    reduction_factor=t.reduction_factor)),
        run_config=tune.RunConfig(name=cfg.run.name or run_dir.name,
                                  storage_path=str(run_dir / "tune"), verbose=1,
                                  failure_config=tune.FailureConfig(max_failures=1)))


def trial_table(cfg: SearchExperimentConfig, results) -> list[dict]:
    """One row per trial from Tune's results: ``values`` (the sampled config),
    ``iterations``, ``win_rates`` (per iteration), ``score`` (mean of the last two),
    ``stopped_early`` (fewer than ``tuning.iterations``), ``error``."""
    rows = []
    for r in results:
        df = r.metrics_dataframe
        rates = [] if df is None or METRIC not in df else [float(x) for x in df[METRIC]]
        iterations = 0 if df is None or df.empty else int(df["training_iteration"].max())
        rows.append({"trial_id": (r.metrics or {}).get("trial_id"), "values": r.config,
                     "iterations": iterations, "win_rates": rates,
                     "score": sum(rates[-2:]) / len(rates[-2:]) if rates else math.nan,
                     "stopped_early": r.error is None and iterations < cfg.tuning.iterations,
                     "error": None if r.error is None else repr(r.error)})
    return rows


def best_trial(rows: list[dict], iterations: int) -> dict | None:
    """The trial with the best ``score`` among those that ran ``iterations`` (all trials
    when none did); None when no trial reported."""
    done = [r for r in rows if r["iterations"] >= iterations and not math.isnan(r["score"])]
    pool = done or [r for r in rows if not math.isnan(r["score"])]
    return max(pool, key=lambda r: r["score"]) if pool else None


def run(started: Startup) -> dict:
    """Run the search in its run directory; write ``trials.json``, ``best_config.yaml`` and
    ``summary.json``.

    Args:
        started: the job's `Startup` (config, local run directory, the warm start's
            weights; Ray connected).

    Returns:
        The summary.
    """
    t0 = time.time()
    cfg, run_dir = started.cfg, started.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.model_dump(), sort_keys=False))
    os.chdir(run_dir)  # Tune needs a current directory that outlives the job's working_dir
    results = make_tuner(cfg, run_dir, started.warm_start).fit()
    rows = trial_table(cfg, results)
    (run_dir / "trials.json").write_text(json.dumps(rows, indent=1, default=str))
    best = best_trial(rows, cfg.tuning.iterations)
    summary = {"trials": len(rows), "stopped_early": sum(r["stopped_early"] for r in rows),
               "completed": sum(r["iterations"] >= cfg.tuning.iterations for r in rows),
               "errors": [r["error"] for r in rows if r["error"]], "best": best,
               "best_config": None, "wall_s": time.time() - t0}
    if best is not None:
        main = with_overrides(cfg.main_config(), best["values"])
        path = run_dir / "best_config.yaml"
        header = (f"# Best of {len(rows)} configurations searched by experiments/tune_search.py "
                  f"({run_dir.name}): {json.dumps(best['values'])}, win rate "
                  f"{best['score']:.3f} vs {cfg.tuning.opponent}\n")
        path.write_text(header + yaml.safe_dump(main.model_dump(), sort_keys=False))
        summary["best_config"] = str(path)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="RingRift AlphaZero hyperparameter search")
    ap.add_argument("--config", required=True, help="YAML (experiments/configs/search_*.yaml)")
    ap.add_argument("--run-dir", help="output directory (default runs/<config name>)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config field by its dotted key, e.g. tuning.samples=32")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start (`startup.start`: exit 2 for a bad config, run directory or warm start), run
    the search, log the best configuration.

    Args:
        argv: the command line without the program (default ``sys.argv[1:]``).

    Returns:
        The exit status: 0, or 1 when a trial failed or none reported.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    try:
        started = start(JOB, args)
    except StartupError as e:
        log.error("%s", e)
        return e.exit_code
    summary = run(started)
    best = summary["best"]
    log.info("%d trials, %d stopped early by ASHA, %d completed; best %s (win rate %.3f) -> %s",
             summary["trials"], summary["stopped_early"], summary["completed"],
             best and best["values"], best["score"] if best else math.nan,
             summary["best_config"])
    return 1 if summary["errors"] or best is None else 0


if __name__ == "__main__":
    raise SystemExit(main())
