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
| ``checkpoints/best.pt``           | trainer rank 0 (lowest      | the user, ``match``            |
|                                   | smoothed train loss)        |                                |
| ``checkpoints/candidate_<v>.pt``  | evaluator                   | evaluator on resume (the best) |
| ``checkpoints/promoted.pt``       | evaluator                   | driver on resume (selfplay)    |
| ``ray_train/<run name>/``         | Ray Train (checkpoints)     | trainer `_restore` on resume   |
| ``replay/*.parquet``              | replay buffer (`save`)      | replay buffer on start,        |
|                                   |                             | ``ringrift-ray export``        |
| ``league.json``                   | evaluator                   | evaluator on resume,           |
|                                   |                             | ``ringrift-ray elo``           |
| ``tensorboard/``                  | driver (selfplay/*,         | TensorBoard                    |
|                                   | buffer/*, eval/*), trainer  |                                |
|                                   | rank 0 (train/*)            |                                |
| ``summary.json``                  | driver at the end           | the user, tests                |
| ``tmp/``                          | Ray Train checkpoint        | Ray Train (copies them)        |
|                                   | staging (``TMPDIR``)        |                                |
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import threading
import time
from pathlib import Path

import ray
import yaml
from ray.train import CheckpointConfig, LoggingConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer
from torch.utils.tensorboard import SummaryWriter

from actors.evaluator import Evaluation, Evaluator
from actors.replay_buffer import ReplayBuffer
from actors.selfplay_worker import BatchReport, SelfplayWorker
from actors.weights import WeightsStore
from experiments.resources import ResourcesUnavailable, bundles, wait_for_resources
from experiments.trainer import train_worker
from ringrift_ray.buffer import BufferStats
from ringrift_ray.config import AlphaZeroConfig, load_yaml, parse_overrides, with_overrides
from ringrift_ray.net import NetSpec, PolicyValueNet, load_checkpoint, weights_numpy
from ringrift_ray.samples import policy_lag

log = logging.getLogger("alphazero")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="RingRift AlphaZero main job (selfplay + training)")
    ap.add_argument("--config", required=True, help="YAML config (experiments/configs/*.yaml)")
    ap.add_argument("--run-dir", help="output directory (default runs/<config name>)")
    ap.add_argument("--time-budget", type=float, help="override run.time_budget_s (seconds)")
    ap.add_argument("--train-steps", type=int, help="override run.train_steps")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config field by its dotted key, e.g. train.lr=1e-3 "
                    "(repeatable; the value is read as YAML)")
    return ap.parse_args(argv)


def resolve_config(args: argparse.Namespace) -> tuple[AlphaZeroConfig, Path]:
    """The config file with ``--set``, ``--time-budget`` and ``--train-steps`` applied,
    and the run directory.

    Raises:
        FileNotFoundError: no config file.
        ValueError: a bad config file, override key or value (the message names it).
    """
    overrides = parse_overrides(args.set)
    if args.time_budget is not None:
        overrides["run.time_budget_s"] = args.time_budget
    if args.train_steps is not None:
        overrides["run.train_steps"] = args.train_steps
    cfg = with_overrides(load_yaml(args.config, AlphaZeroConfig), overrides)
    run_dir = Path(args.run_dir or default_run_dir(args.config)).resolve()
    return cfg, run_dir


def default_run_dir(config_path: str) -> Path:
    """``runs/<config name>`` under the current directory; under ``ray job submit`` (whose
    current directory is a temporary copy of the working dir) ``~/ringrift-runs/<config
    name>`` on the node running the driver, which outlives the job."""
    name = Path(config_path).stem
    if os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR"):
        return Path.home() / "ringrift-runs" / name
    return Path("runs") / name


def initial_weights(cfg: AlphaZeroConfig, run_dir: Path) -> tuple[int, dict]:
    """Weights to start selfplay with: with evaluation on, the last promoted checkpoint of
    this run; else (or when none) the latest checkpoint; else a fresh net."""
    spec = NetSpec.from_config(cfg.game, cfg.net)
    checkpoints = run_dir / "checkpoints"
    for path in ([checkpoints / "promoted.pt"] if cfg.eval.enabled else []) + [
            checkpoints / "latest.pt"]:
        if path.exists():
            net, extra = load_checkpoint(path, expect=spec)
            log.info("resuming from %s (step %s)", path, extra.get("step"))
            return int(extra.get("step", 0)), weights_numpy(net)
    return 0, weights_numpy(PolicyValueNet(spec))


def start_selfplay(cfg: AlphaZeroConfig, buffer, store) -> list:
    gpu = cfg.run.selfplay_gpus_per_worker if cfg.run.use_gpu else 0
    return [SelfplayWorker.options(num_cpus=cfg.run.selfplay_cpus_per_worker, num_gpus=gpu,
                                   resources=dict(cfg.run.selfplay_resources))
            .remote(i, cfg, buffer, store, cfg.run.seed * 1000 + i)
            for i in range(cfg.run.selfplay_workers)]


def make_trainer(cfg: AlphaZeroConfig, run_dir: Path, buffer, store, deadline: float):
    loop_config = {"cfg": cfg, "run_dir": str(run_dir), "deadline": deadline,
                   "buffer": buffer, "weights": store}
    return TorchTrainer(
        train_worker,
        train_loop_config=loop_config,
        scaling_config=ScalingConfig(
            num_workers=cfg.run.train_workers, use_gpu=cfg.run.use_gpu,
            resources_per_worker=bundles(cfg)["train worker"][1]),
        run_config=RunConfig(name=cfg.run.name or run_dir.name,
                             storage_path=str(run_dir / "ray_train"),
                             checkpoint_config=CheckpointConfig(num_to_keep=2),
                             logging_config=LoggingConfig(log_level="WARNING")),
    )


class SelfplayPump:
    """Keeps one ``play_batch`` call in flight per worker and logs their statistics."""

    def __init__(self, workers: list, writer: SummaryWriter):
        self.workers = workers
        self.writer = writer
        self.pending = {w.play_batch.remote(): w for w in workers}
        self.resume_at: dict = {}
        self.games = self.samples = self.failures = 0
        self.t0 = time.perf_counter()

    def poll(self, timeout: float) -> None:
        ready, _ = ray.wait(list(self.pending), num_returns=1, timeout=timeout)
        for ref in ready:
            worker = self.pending.pop(ref)
            try:
                report: BatchReport = ray.get(ref)
            except ray.exceptions.RayError as e:  # the actor restarts (max_restarts)
                self.failures += 1
                log.warning("selfplay batch failed (%s); resubmitting", type(e).__name__)
                self.pending[worker.play_batch.remote()] = worker
                continue
            self.games += report.games
            self.samples += report.samples
            elapsed = time.perf_counter() - self.t0
            self.writer.add_scalar("selfplay/games_per_s", self.games / elapsed, self.games)
            self.writer.add_scalar("selfplay/nn_batch_fill", report.nn_batch_fill, self.games)
            self.writer.add_scalar("selfplay/model_version", report.model_version, self.games)
            delay = 1.0 if report.throttle else 0.0
            self.resume_at[worker] = time.perf_counter() + delay
        now = time.perf_counter()
        for worker, at in list(self.resume_at.items()):
            if now >= at:
                del self.resume_at[worker]
                self.pending[worker.play_batch.remote()] = worker

    def drain(self, timeout: float) -> None:
        ray.wait(list(self.pending), num_returns=len(self.pending), timeout=timeout)
        for ref in self.pending:
            ray.cancel(ref)


class EvalPump:
    """Keeps one ``Evaluator.evaluate_next`` call in flight and logs ``eval/*`` metrics
    (step = candidate version). An evaluator failure is logged and stops evaluation:
    selfplay keeps the last promoted weights."""

    IDLE_S = 2.0  # wait before asking again when no new candidate existed

    def __init__(self, evaluator, writer: SummaryWriter):
        self.evaluator = evaluator
        self.writer = writer
        self.pending = evaluator.evaluate_next.remote()
        self.resume_at = 0.0
        self.evaluated = self.promoted = 0
        self.error: Exception | None = None

    def poll(self) -> None:
        if self.error is not None:
            return
        if self.pending is None:
            if time.perf_counter() >= self.resume_at:
                self.pending = self.evaluator.evaluate_next.remote()
            return
        ready, _ = ray.wait([self.pending], timeout=0)
        if ready:
            self._collect()

    def finish(self, timeout: float) -> None:
        """Wait for the call in flight, then evaluate the newest candidate (within
        ``timeout`` seconds overall)."""
        deadline = time.perf_counter() + timeout
        for _ in range(2):
            if self.error is not None:
                return
            if self.pending is None:
                self.pending = self.evaluator.evaluate_next.remote()
            ready, _ = ray.wait([self.pending], timeout=max(0.0, deadline - time.perf_counter()))
            if not ready:
                log.warning("evaluation still running after %.0f s; not waiting", timeout)
                ray.cancel(self.pending)
                return
            if self._collect() is None:
                return

    def _collect(self) -> Evaluation | None:
        ref, self.pending = self.pending, None
        try:
            entry: Evaluation | None = ray.get(ref)
        except ray.exceptions.RayError as e:
            log.error("evaluator failed; selfplay keeps the last promoted weights: %s", e)
            self.error = e
            return None
        if entry is None:
            self.resume_at = time.perf_counter() + self.IDLE_S
            return None
        self.evaluated += 1
        self.promoted += entry.promoted
        self.writer.add_scalar("eval/elo", entry.elo, entry.version)
        for key, rate in entry.win_rates.items():
            self.writer.add_scalar(f"eval/winrate_vs_{key}", rate, entry.version)
        self.writer.flush()
        log.info("evaluated candidate %d: elo %.0f, %s", entry.version, entry.elo,
                 "promoted" if entry.promoted else "not promoted")
        return entry


def run(cfg: AlphaZeroConfig, run_dir: Path) -> dict:
    """Run the job in ``run_dir`` (Ray must be initialized); returns the summary."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.model_dump(), sort_keys=False))
    os.environ.setdefault("TMPDIR", str(run_dir / "tmp"))
    (run_dir / "tmp").mkdir(exist_ok=True)
    buffer = ReplayBuffer.remote(cfg.buffer, spill_dir=str(run_dir / "replay"),
                                 policy_width=cfg.selfplay.policy_top_k)
    store = WeightsStore.remote()  # what selfplay plays (promoted weights with eval on)
    version, weights = initial_weights(cfg, run_dir)
    ray.get(store.publish.remote(version, weights))
    writer = SummaryWriter(str(run_dir / "tensorboard"))
    deadline = time.time() + cfg.run.time_budget_s
    pump = SelfplayPump(start_selfplay(cfg, buffer, store), writer)
    evals, trainer_store = None, store
    if cfg.eval.enabled:
        trainer_store = WeightsStore.remote()  # candidates
        evaluator = Evaluator.options(num_cpus=cfg.eval.cpus).remote(
            trainer_store, store, str(run_dir), cfg)
        evals = EvalPump(evaluator, writer)
    fit = _FitThread(make_trainer(cfg, run_dir, buffer, trainer_store, deadline))
    last_log = time.perf_counter()
    while fit.is_alive() and time.time() < deadline + cfg.run.shutdown_grace_s:
        pump.poll(timeout=0.5)
        if evals is not None:
            evals.poll()
        if time.perf_counter() - last_log > cfg.run.log_every_s:
            last_log = time.perf_counter()
            _log_progress(cfg, pump, buffer, trainer_store, writer, deadline)
    if fit.is_alive():
        fit.error = TimeoutError(f"the trainer did not stop within run.shutdown_grace_s = "
                                 f"{cfg.run.shutdown_grace_s:g} s after the time budget")
        log.error("%s; not waiting for it", fit.error)
    pump.drain(timeout=30)
    if evals is not None:
        evals.finish(timeout=cfg.eval.final_timeout_s)
    shards = ray.get(buffer.save.remote())
    summary = {
        "games": pump.games, "samples_generated": pump.samples,
        "selfplay_failures": pump.failures,
        "train_step": max(version, ray.get(trainer_store.version.remote())),
        "buffer": dataclasses.asdict(ray.get(buffer.stats.remote())),
        "new_shards": [str(s) for s in shards],
        "error": None if fit.error is None else repr(fit.error),
    }
    if evals is not None:
        summary.update({
            "league": str(run_dir / "league.json"), "evaluated": evals.evaluated,
            "promoted": evals.promoted, "selfplay_version": ray.get(store.version.remote()),
            "eval_error": None if evals.error is None else repr(evals.error)})
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    writer.close()
    return summary


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
            self.error = self.trainer.fit().error
        except Exception as e:
            log.exception("training failed")
            self.error = e


def _log_progress(cfg: AlphaZeroConfig, pump: SelfplayPump, buffer, store, writer,
                  deadline: float) -> None:
    """One console status line (and the ``buffer/*`` scalars)."""
    stats: BufferStats = ray.get(buffer.stats.remote())
    step = ray.get(store.version.remote())
    writer.add_scalar("buffer/size", stats.size, pump.games)
    writer.add_scalar("buffer/replay_ratio", stats.replay_ratio, pump.games)
    window = stats.configs.get(f"{cfg.game.board}/{cfg.game.players}p")
    sampled = None if window is None else window.sampled_model_version
    lag = "-" if sampled is None else f"{policy_lag(max(step, 0), sampled):.0f}"
    elapsed = max(time.perf_counter() - pump.t0, 1e-9)
    log.info("%.2f games/s | %.1f samples/s | train step %d | buffer %d | replay ratio %.2f "
             "| policy lag %s | %.0f s left", pump.games / elapsed, pump.samples / elapsed,
             step, stats.size, stats.replay_ratio, lag, max(0.0, deadline - time.time()))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    try:
        cfg, run_dir = resolve_config(args)
    except (FileNotFoundError, ValueError) as e:
        log.error("bad config: %s", e)
        return 2
    try:  # a run directory to resume must hold readable checkpoints for this configuration
        spec = NetSpec.from_config(cfg.game, cfg.net)
        for name in ("latest.pt", "promoted.pt"):
            if (run_dir / "checkpoints" / name).exists():
                load_checkpoint(run_dir / "checkpoints" / name, expect=spec)
    except ValueError as e:
        log.error("cannot resume %s: %s", run_dir, e)
        return 2
    joined = bool(os.environ.get("RAY_ADDRESS")) or ray.is_initialized()
    if not ray.is_initialized():  # joins RAY_ADDRESS under `ray job submit`
        context = ray.init(num_cpus=cfg.run.local_cpus, include_dashboard=cfg.run.dashboard)
        if context.dashboard_url:
            log.info("Ray dashboard: http://%s", context.dashboard_url)
    log.info("run directory: %s", run_dir)
    try:
        wait_for_resources(cfg, cfg.run.startup_timeout_s if joined else 0.0)
    except ResourcesUnavailable as e:
        log.error("%s", e)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "summary.json").write_text(json.dumps({"error": str(e)}, indent=2))
        return 1
    summary = run(cfg, run_dir)
    log.info("done: %s", json.dumps({k: v for k, v in summary.items() if k != "buffer"}))
    return 1 if summary["error"] or summary.get("eval_error") else 0


if __name__ == "__main__":
    raise SystemExit(main())
