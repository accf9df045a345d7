"""The main job: selfplay actors + replay buffer + Ray Train (TorchTrainer) for a time or
step budget.

    python -m experiments.alphazero --config experiments/configs/square8_2p.yaml \\
        [--run-dir DIR] [--set train.lr=1e-3 --set run.selfplay_workers=4 ...]
    RAY_AUTH_MODE=token ray job submit --working-dir . -- \\
        python -m experiments.alphazero --config experiments/configs/square8_2p.yaml

Without a running cluster it starts a local Ray; under ``ray job submit`` it joins the
cluster. ``--set KEY=VALUE`` (repeatable, dotted keys) overrides any config field through
`config.with_overrides`; an unknown key or a bad value is an error naming it (exit 2).
Re-running with the same run directory resumes from the latest checkpoint and the spilled
replay data.

With ``eval.enabled`` the trainer publishes *candidates* and an `Evaluator` actor gates
them: selfplay follows only promoted weights; the driver logs ``eval/*`` to TensorBoard
with the candidate version as step. After training, the newest candidate is evaluated too
(up to ``eval.final_timeout_s``).

The run directory:

| path                              | written by                  | read by                        |
|-----------------------------------|-----------------------------|--------------------------------|
| ``config.yaml``                   | driver (resolved config)    | the user                       |
| ``checkpoints/latest.pt``         | trainer rank 0 (`_save`)    | driver on resume, ``match``    |
| ``checkpoints/lowest_loss.pt``    | trainer rank 0 (lowest      | the user, ``match``            |
|                                   | smoothed train loss)        |                                |
| ``checkpoints/candidate_<v>.pt``  | evaluator                   | evaluator on resume (the best) |
| ``checkpoints/promoted.pt``       | evaluator                   | driver on resume (selfplay)    |
| ``ray_train/<run name>/``         | Ray Train (checkpoints)     | trainer `_restore` on resume   |
| ``replay/*.parquet``              | replay buffer (`save`)      | replay buffer on start,        |
|                                   |                             | ``ringrift-ray export``        |
| ``league.json``                   | evaluator                   | evaluator on resume,           |
|                                   |                             | ``ringrift-ray elo``           |
| ``games/v<v>.jsonl``              | evaluator (its games' moves)| ``ringrift-ray show RUN_DIR``  |
| ``tensorboard/``                  | driver (selfplay/*,         | TensorBoard                    |
|                                   | buffer/*, eval/*), trainer  |                                |
|                                   | rank 0 (train/*)            |                                |
| ``summary.json``                  | driver at the end           | the user, tests                |
| ``tmp/``                          | Ray Train checkpoint        | Ray Train (copies them)        |
|                                   | staging (``TMPDIR``)        |                                |

The run directory may be a URI (``s3://bucket/run``, ``gs://bucket/run``, ``file:///data/
run``; `ringrift_ray.storage`, through ``pyarrow.fs`` as Ray Train's ``storage_path``): every
file above then goes there, so the nodes of a cluster share no file system. Two exceptions
stay local: ``tmp/`` (a staging folder under the system's temporary directory) and the
TensorBoard event files, which each writer (driver, trainer rank 0) writes to a local staging
folder and uploads to ``tensorboard/`` every `tensorboard.SYNC_EVERY_S` seconds and when it
closes. The store must be writable at start (checked; else exit 2 naming it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import threading
import time
from pathlib import Path

import ray
import yaml
from ray.train import CheckpointConfig, FailureConfig, LoggingConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from actors.budget import Budget
from actors.errors import call_with_retry
from actors.evaluator import Evaluator
from actors.metrics import Recorder, run_tags
from actors.weights import WeightsStore
from experiments.ops import fleet
from experiments.ops.fleet import actor_name, named, run_name, start_selfplay
from experiments.ops.pumps import EvalPump, SelfplayPump, final_flush, sample_accounting
from experiments.ops.resources import CapacityWatch, ResourcesUnavailable, bundles
from experiments.ops.startup import Job, Resume, Startup, StartupError, start
from experiments.ops.tensorboard import open_writer
from experiments.ops.trainer import train_worker
from ringrift_ray import storage
from ringrift_ray.config import AlphaZeroConfig
from ringrift_ray.eval import league
from ringrift_ray.net import (
    NetSpec,
    PolicyValueNet,
    load_weights_numpy,
    save_checkpoint,
    weights_numpy,
)
from ringrift_ray.replay import shards
from ringrift_ray.replay.buffer import BufferStats
from ringrift_ray.samples import policy_lag

log = logging.getLogger("alphazero")
JOB = Job(name="alphazero", model=AlphaZeroConfig, resumes=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="RingRift AlphaZero main job (selfplay + training)")
    ap.add_argument("--config", required=True, help="YAML config (experiments/configs/*.yaml)")
    ap.add_argument("--run-dir", help="output directory or URI (s3://, gs://, file://; "
                    "default runs/<config name>)")
    ap.add_argument("--time-budget", type=float, help="override run.time_budget_s (seconds)")
    ap.add_argument("--train-steps", type=int, help="override run.train_steps")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config field by its dotted key, e.g. train.lr=1e-3 "
                    "(repeatable; the value is read as YAML)")
    return ap.parse_args(argv)


def flag_overrides(args: argparse.Namespace) -> dict:
    """The job's own flags as config overrides.

    Args:
        args: the parsed flags (`parse_args`).

    Returns:
        ``{"run.time_budget_s": ..., "run.train_steps": ...}``, the flags given only.
    """
    flags = {"run.time_budget_s": args.time_budget, "run.train_steps": args.train_steps}
    return {k: v for k, v in flags.items() if v is not None}


def initial_weights(cfg: AlphaZeroConfig, resume: Resume | None,
                    warm: dict | None) -> tuple[int, dict]:
    """The weights selfplay starts with, from what the start-up loaded (`startup.start`).

    Args:
        cfg: the job's config (the net of a fresh start).
        resume: the run's own checkpoint (with evaluation on, the last promoted one; else
            the latest), or None for a new run.
        warm: ``train.init_checkpoint``'s weights (version 0, the trainer's step-0 weights
            too), or None.

    Returns:
        ``(version, weights)``: the resumed checkpoint's step and weights; else the warm
        start at version 0; else a fresh net at version 0.
    """
    if resume is not None:
        log.info("resuming from %s (step %s)", resume.path, resume.step)
        return resume.step, resume.weights
    if warm is not None:
        log.info("warm start from %s", cfg.train.init_checkpoint)
        return 0, warm
    return 0, weights_numpy(PolicyValueNet(NetSpec.from_config(cfg.game, cfg.net)))


def warm_start_best(cfg: AlphaZeroConfig, run_dir: Path | str, weights: dict) -> bool:
    """With ``train.init_checkpoint`` and evaluation on, make the warm-start net the league's
    first best (``checkpoints/warm_start.pt``, named ``warm``), so the first candidate must
    pass the gate's test against it before selfplay switches to it. Done once: a league
    with a best or with evaluated candidates (a resumed run) is left alone.

    Returns:
        True when the warm net became the best.
    """
    path = storage.join(run_dir, "league.json")
    table = league.load_or_new(path, cfg.game.board, cfg.game.players)
    if not (cfg.eval.enabled and cfg.train.init_checkpoint) or table.best or table.versions:
        return False
    net = PolicyValueNet(NetSpec.from_config(cfg.game, cfg.net))
    load_weights_numpy(net, weights)
    checkpoint = storage.join(run_dir, "checkpoints", "warm_start.pt")
    save_checkpoint(net, checkpoint, step=0, version=0, source=str(cfg.train.init_checkpoint))
    best = league.Best(version=0, name="warm", checkpoint=str(checkpoint))
    league.save_league(table.model_copy(update={"best": best}), path)
    return True


def make_trainer(cfg: AlphaZeroConfig, run_dir: Path, buffer, store, budget, init_weights=None):
    loop_config = {"cfg": cfg, "run_dir": str(run_dir), "buffer": buffer, "weights": store,
                   "budget": budget, "init_weights": init_weights}
    # Ray Train's controller fails the run on one failed write: retry through store outages
    fs, path = storage.patient(storage.join(run_dir, "ray_train"), cfg.buffer.store_outage_s)
    return TorchTrainer(
        train_worker,
        train_loop_config=loop_config,
        scaling_config=ScalingConfig(
            num_workers=cfg.run.train_workers, use_gpu=cfg.run.use_gpu,
            resources_per_worker=bundles(cfg)["train worker"][1]),
        run_config=RunConfig(name=cfg.run.name or storage.basename(run_dir),
                             storage_path=path, storage_filesystem=fs,
                             checkpoint_config=CheckpointConfig(num_to_keep=2),
                             failure_config=FailureConfig(max_failures=cfg.run.max_train_failures),
                             logging_config=LoggingConfig(log_level="WARNING")),
    )


def run(started: Startup) -> dict:
    """Run the started job in its run directory; returns the summary. SIGTERM or SIGINT
    (Ctrl-C, ``ray job stop``) ends training at its next step with a final checkpoint; the
    buffer is flushed and the summary written as on a normal end.

    Args:
        started: the job's `Startup` (config, run directory, loaded checkpoints; Ray
            connected and its resources checked).

    Returns:
        The summary, also written to ``summary.json``.
    """
    cfg, run_dir = started.cfg, started.run_dir
    storage.makedirs(run_dir)
    storage.write_text(storage.join(run_dir, "config.yaml"),
                       yaml.safe_dump(cfg.model_dump(), sort_keys=False))
    os.environ.setdefault("TMPDIR", str(storage.staging_dir(run_dir, "tmp")))
    replay_dir = storage.join(run_dir, "replay")
    shards_at_start = _shard_names(replay_dir)
    rows_at_start, started_ns = shards.count_rows(shards_at_start), time.time_ns()
    buffer = fleet.start_buffer(cfg, run_dir)
    store = WeightsStore.options(**named(cfg, run_dir, "weights"),  # selfplay plays
                                 **fleet.on_driver_node()).remote()
    version, weights = initial_weights(cfg, started.resume, started.warm_start)
    ray.get(store.publish.remote(version, weights))
    if warm_start_best(cfg, run_dir, weights):
        log.info("the warm start is the first best (checkpoints/warm_start.pt)")
    writer = open_writer(run_dir, "driver")
    budget = Budget.options(**named(cfg, run_dir, "budget"), **fleet.on_driver_node()).remote(
        time.time() + cfg.run.time_budget_s)
    metrics = Recorder(run_tags(run_name(cfg, run_dir), cfg.game.board, cfg.game.players))
    pump = SelfplayPump(start_selfplay(cfg, run_dir), writer, metrics)
    evals, trainer_store = _start_evaluator(cfg, run_dir, store, writer, metrics)
    warm = ray.put(weights) if cfg.train.init_checkpoint else None  # unused when resuming
    fit = _FitThread(make_trainer(cfg, run_dir, buffer, trainer_store, budget, warm))
    stopped = _drive(cfg, fit, pump, evals, buffer, trainer_store, budget, writer)
    pump.drain(timeout=30)
    if evals is not None:
        evals.finish(timeout=cfg.eval.final_timeout_s)
    reachable = final_flush(buffer, pump, isinstance(fit.error, ResourcesUnavailable))
    written = _shard_names(replay_dir)
    ledger = call_with_retry(lambda: buffer.ledger.remote(), "buffer.ledger") if reachable else {}
    samples = sample_accounting(pump, ledger, shards.count_rows(written) - rows_at_start,
                                started_ns)
    error = fit.error or pump.store_error
    stats = call_with_retry(lambda: buffer.stats.remote(), "stats") if reachable else None
    summary = {
        "games": pump.games, "samples": samples,
        "selfplay_failures": pump.failures, "stopped_by": stopped,
        "train_step": max(version, ray.get(trainer_store.version.remote())),
        "buffer": None if stats is None else dataclasses.asdict(stats),
        "new_shards": sorted(set(written) - set(shards_at_start)),
        "error": None if error is None else repr(error),
    }
    if evals is not None:
        summary.update(_eval_summary(evals, run_dir, store))
    storage.write_text(storage.join(run_dir, "summary.json"),
                       json.dumps(summary, indent=2, default=str))
    writer.close()
    return summary


def _start_evaluator(cfg: AlphaZeroConfig, run_dir: storage.Location, store, writer,
                     metrics: Recorder) -> tuple[EvalPump | None, object]:
    """With ``eval.enabled``: the candidates' `WeightsStore` the trainer publishes to and an
    `Evaluator` that promotes into ``store`` (what selfplay plays), driven by an `EvalPump`.
    Without: no pump, and the trainer publishes to ``store`` itself."""
    if not cfg.eval.enabled:
        return None, store
    candidates = WeightsStore.options(**named(cfg, run_dir, "candidates"),
                                      **fleet.on_driver_node()).remote()
    evaluator = Evaluator.options(**named(cfg, run_dir, "evaluator"), num_cpus=cfg.eval.cpus,
                                  num_gpus=cfg.eval.gpus, resources=cfg.run.eval_resources).remote(
        actor_name(cfg, run_dir, "candidates"), actor_name(cfg, run_dir, "weights"),
        str(run_dir), cfg)
    return EvalPump(evaluator, writer, metrics, cfg.buffer.store_outage_s), candidates


def _eval_summary(evals: EvalPump, run_dir: storage.Location, store) -> dict:
    """The evaluation part of ``summary.json``."""
    return {"league": str(storage.join(run_dir, "league.json")), "evaluated": evals.evaluated,
            "promoted": evals.promoted, "evaluator_failures": evals.failures,
            "selfplay_version": ray.get(store.version.remote()),
            "eval_error": None if evals.error is None else repr(evals.error)}


def _drive(cfg: AlphaZeroConfig, fit: _FitThread, pump: SelfplayPump, evals: EvalPump | None,
           buffer, trainer_store, budget, writer) -> str | None:
    """Keep selfplay and evaluation going while the trainer runs, at most until the
    deadline plus ``run.shutdown_grace_s``; log a status line every ``run.log_every_s``.
    Capacity lost for ``run.startup_timeout_s`` (`CapacityWatch`) stops it as a signal does.
    Returns the name of the signal that stopped the run early, else None."""
    signals, watch, lost = _StopSignals(), CapacityWatch(cfg, cfg.run.startup_timeout_s), None
    deadline = ray.get(budget.deadline.remote())
    last_log = time.perf_counter()
    while fit.is_alive() and time.time() < deadline + cfg.run.shutdown_grace_s:
        lost = lost or watch.check()
        stop = (signals.received or (pump.store_error and "the replay store failing")
                or (lost and "lost capacity"))
        if stop and deadline > time.time():
            log.warning("%s: stopping training at its next step (final checkpoint, buffer "
                        "flush, summary)", stop)
            ray.get(budget.stop.remote())
            deadline = time.time()
        pump.poll(timeout=0.5)
        if evals is not None:
            evals.poll()
        if time.perf_counter() - last_log > cfg.run.log_every_s:
            last_log = time.perf_counter()
            _log_progress(cfg, pump, buffer, trainer_store, budget, writer, deadline)
    signals.restore()
    if fit.is_alive() or lost:
        fit.error = lost or TimeoutError(f"the trainer did not stop within run.shutdown_grace_s "
                                         f"= {cfg.run.shutdown_grace_s:g} s after the time budget")
        log.error("%s", fit.error)
    return signals.received


class _StopSignals:
    """Catches SIGTERM and SIGINT while installed (main thread only); ``received`` names the
    first one."""

    def __init__(self) -> None:
        self.received: str | None = None
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self.previous[sig] = signal.signal(sig, self._catch)

    def _catch(self, signum, frame) -> None:
        self.received = self.received or signal.Signals(signum).name

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _shard_names(directory: Path | str) -> list[str]:
    """The shards of ``directory`` as strings, sorted (`shards.list_shards`; [] if none):
    compared before and after a run, every shard it wrote (periodic flushes included)."""
    return [str(p) for p in shards.list_shards(directory)] if storage.is_dir(directory) else []


class _FitThread(threading.Thread):
    """Runs ``trainer.fit()`` in the background; ``error`` is its exception or the
    result's error (Train V2 raises worker failures from ``fit``)."""

    def __init__(self, trainer: TorchTrainer):
        super().__init__(daemon=True)
        self.trainer = trainer
        self.error: Exception | None = None
        self.start()

    def run(self) -> None:
        try:
            error = self.trainer.fit().error
        except Exception as e:
            log.exception("training failed")
            error = e
        self.error = self.error or error  # the driver's reason to stop it, if it set one


def _log_progress(cfg: AlphaZeroConfig, pump: SelfplayPump, buffer, store, budget, writer,
                  deadline: float) -> None:
    """One console status line (and the ``buffer/*`` scalars); skipped while the buffer is
    unreachable (restarting, or its node lost: `CapacityWatch` decides how long to wait)."""
    try:
        stats: BufferStats = call_with_retry(lambda: buffer.stats.remote(), "buffer.stats",
                                             timeout_s=5.0)
    except ray.exceptions.RayActorError:
        log.warning("the replay buffer is unreachable (restarting or its node lost)")
        return
    step = max(call_with_retry(lambda: budget.train_step.remote(), "budget"), 0)
    writer.add_scalar("buffer/size", stats.size, pump.games)
    writer.add_scalar("buffer/replay_ratio", stats.replay_ratio, pump.games)
    writer.flush()  # an object-store run uploads its events at most every SYNC_EVERY_S
    window = stats.configs.get(f"{cfg.game.board}/{cfg.game.players}p")
    sampled = None if window is None else window.sampled_model_version
    published = max(ray.get(store.version.remote()), 0)
    lag = "-" if sampled is None else f"{policy_lag(published, sampled):.0f}"
    elapsed = max(time.perf_counter() - pump.t0, 1e-9)
    log.info("%.2f games/s | %.1f samples/s | train step %d | buffer %d | replay ratio %.2f "
             "| policy lag %s | %.0f s left", pump.games / elapsed, pump.samples / elapsed,
             step, stats.size, stats.replay_ratio, lag, max(0.0, deadline - time.time()))


def main(argv: list[str] | None = None) -> int:
    """Start (`startup.start`: exit 2 for a bad config, run directory or checkpoint, 1 when
    the cluster cannot hold the job), run, log the summary.

    Args:
        argv: the command line without the program (default ``sys.argv[1:]``).

    Returns:
        The exit status: 0, or 1 when training or the evaluation failed.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    try:
        started = start(JOB, args, flag_overrides(args))
    except StartupError as e:
        log.error("%s", e)
        return e.exit_code
    summary = run(started)
    log.info("done: %s", json.dumps({k: v for k, v in summary.items() if k != "buffer"}))
    return 1 if summary["error"] or summary.get("eval_error") else 0


if __name__ == "__main__":
    raise SystemExit(main())
