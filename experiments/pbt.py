"""Population-based training (Jaderberg et al. 2017) of AlphaZero as in Wu, Wei & Wu (AAAI
2020): **one** selfplay stream and **one** replay buffer serve the whole population, so PBT
adds only optimization cost.

    python -m experiments.pbt --config experiments/configs/pbt_square8_2p.yaml \\
        [--run-dir DIR] [--time-budget S] [--set pbt.population=8 --set train.lr=1e-3 ...]
    RAY_AUTH_MODE=token ray job submit --working-dir . -- \\
        python -m experiments.pbt --config experiments/configs/pbt_square8_2p.yaml

The driver starts the shared actors (`ReplayBuffer`, the selfplay `WeightsStore`, the
`Population` league, ``run.selfplay_workers`` `SelfplayWorker` actors: the one selfplay
stream, which plays the best member's weights) and runs a Ray Tune `Tuner` whose trials are
the members (`experiments.tune.member.pbt_member`, a function trainable reporting its own
checkpoints). `experiments.tune.scheduler.StrengthPBT` exploits on the members' Elo in the
population league (games against random, the heuristic and the best member), never on
training loss; explore
perturbs or resamples the ``pbt.mutations`` (``train.*`` keys, validated by the config
models).

Stopping and resuming: the population ends when every member reached ``pbt.iterations``.
The time budget (``--time-budget``, default ``run.time_budget_s``), ``--stop-after N``
evaluations, SIGTERM (``ray job stop``) or Ctrl-C interrupt Tune gracefully (SIGUSR1, Tune's
own interrupt): the experiment state is saved with the members unfinished. Re-running with
the same run directory restores the Tune experiment (``Tuner.restore``): the members
continue from their last checkpoints, the buffer from its Parquet shards and the league
from ``population.json``.

The run directory:

| path                          | written by                   | read by                      |
|-------------------------------|------------------------------|------------------------------|
| ``config.yaml``               | driver (resolved config)     | the user                     |
| ``tune/<run name>/``          | Ray Tune (trials, results,   | ``Tuner.restore``, tests,    |
|                               | checkpoints, pbt_global.txt) | TensorBoard (``ray/tune/*``) |
| ``population.json``           | `Population` actor           | ``ringrift-ray elo``         |
| ``population/<member>.pt``    | `Population` (newest weights | `Population` on resume       |
|                               | of each member)              |                              |
| ``checkpoints/best.pt``       | `Population` (best member)   | the user, ``match``          |
| ``replay/*.parquet``          | replay buffer                | replay buffer on resume      |
| ``tensorboard/selfplay``      | driver (selfplay/*, buffer/*)| TensorBoard                  |
| ``tensorboard/<member>``      | member (train/*, pbt/*)      | TensorBoard                  |
| ``summary.json``              | driver at the end            | the user, tests, benchmark   |
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import re
import signal
import threading
import time
from pathlib import Path

import ray
import yaml
from ray import tune
from ray.tune.search.basic_variant import BasicVariantGenerator
from torch.utils.tensorboard import SummaryWriter

from actors.metrics import Recorder, run_tags
from actors.population import Population
from actors.replay_buffer import ReplayBuffer
from actors.weights import WeightsStore
from experiments.ops.fleet import actor_name, named, run_name, start_selfplay
from experiments.ops.pumps import SelfplayPump
from experiments.ops.ray_session import NAMESPACE
from experiments.ops.startup import Job, Startup, StartupError, start
from experiments.tune.config import PBTExperimentConfig
from experiments.tune.member import MemberSetup, pbt_member
from experiments.tune.scheduler import KeepTrialResults, make_scheduler
from ringrift_ray.eval.population import ranking
from ringrift_ray.net import NetSpec, PolicyValueNet, weights_numpy

log = logging.getLogger("pbt")
JOB = Job(name="pbt", model=PBTExperimentConfig, local_run_dir=True)


def make_tuner(cfg: PBTExperimentConfig, run_dir: Path, setup: MemberSetup) -> tune.Tuner:
    """A new `Tuner` for the population, or the stored one restored (same run name)."""
    p = cfg.pbt
    trainable = tune.with_resources(tune.with_parameters(pbt_member, setup=setup),
                                    {"cpu": p.member_cpus, "gpu": p.member_gpus})
    path = run_dir / "tune" / run_name(cfg, run_dir)
    if tune.Tuner.can_restore(str(path)):
        log.info("restoring the population from %s", path)
        return tune.Tuner.restore(str(path), trainable=trainable, resume_unfinished=True,
                                  resume_errored=True)
    return tune.Tuner(
        trainable,
        param_space={k: d.domain() for k, d in p.mutations.items()},
        tune_config=tune.TuneConfig(
            scheduler=make_scheduler(cfg), num_samples=p.population, reuse_actors=True,
            search_alg=BasicVariantGenerator(random_state=cfg.run.seed)),
        run_config=tune.RunConfig(
            name=run_name(cfg, run_dir), storage_path=str(run_dir / "tune"),
            stop={"training_iteration": p.iterations}, verbose=1, callbacks=[KeepTrialResults()],
            checkpoint_config=tune.CheckpointConfig(num_to_keep=p.checkpoints_to_keep),
            failure_config=tune.FailureConfig(max_failures=2)))


def run(started: Startup, time_budget_s: float, stop_after: int | None = None) -> dict:
    """Run (or resume) the population in the run directory for at most ``time_budget_s``
    seconds, or until the population recorded ``stop_after`` evaluations in this invocation.

    Args:
        started: the job's `Startup` (config, local run directory, the warm start's
            weights; Ray connected and its resources checked).
        time_budget_s: seconds for this invocation.
        stop_after: stop once this many more evaluations were recorded (None: no limit).

    Returns:
        The summary, also written to ``summary.json``.
    """
    t_start = time.time()
    cfg, run_dir, warm = started.cfg, started.run_dir, started.warm_start
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.model_dump(), sort_keys=False))
    (run_dir / "tmp").mkdir(exist_ok=True)
    os.environ.setdefault("TMPDIR", str(run_dir / "tmp"))
    shared = _start_shared(cfg, run_dir, warm)
    writer = SummaryWriter(str(run_dir / "tensorboard" / "selfplay"))
    stop = _Interrupt(time_budget_s)
    pump = _SelfplayThread(cfg, SelfplayPump(shared["workers"], writer, Recorder(
        run_tags(run_name(cfg, run_dir), cfg.game.board, cfg.game.players))), shared, stop,
                           stop_after)
    setup = MemberSetup(cfg=cfg, run_dir=str(run_dir), namespace=NAMESPACE,
                        buffer=named(cfg, run_dir, "replay_buffer")["name"],
                        population=named(cfg, run_dir, "population")["name"],
                        init_weights=warm)  # members without a checkpoint start from it
    restored = tune.Tuner.can_restore(str(run_dir / "tune" / run_name(cfg, run_dir)))
    # Tune needs a current directory when fit ends; under `ray job submit` on a Cluster of
    # several nodes on one machine the job's working_dir copy was deleted by then
    os.chdir(run_dir)
    t_fit = time.time()
    try:
        results = make_tuner(cfg, run_dir, setup).fit()
    finally:
        stop.cancel()
        pump.stop()
    summary = _summary(cfg, run_dir, results, shared, pump.pump, stop.reason, restored)
    summary.update(wall_s=time.time() - t_start, tune_fit_s=time.time() - t_fit,
                   fit_started_at=t_fit)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    writer.close()
    for actor in [*shared["workers"], shared["buffer"], shared["store"], shared["population"]]:
        ray.kill(actor)
    return summary


def _start_shared(cfg: PBTExperimentConfig, run_dir: Path, warm: dict | None) -> dict:
    """The shared actors: replay buffer (restores ``replay/``), selfplay weights store,
    `Population` (restores ``population.json``, publishes the best member), the selfplay
    workers. A fresh population starts selfplay with the warm start ``warm``
    (``train.init_checkpoint``) or a fresh network."""
    buffer = ReplayBuffer.options(**named(cfg, run_dir, "replay_buffer")).remote(
        cfg.buffer, spill_dir=str(run_dir / "replay"), policy_width=cfg.selfplay.policy_top_k,
        run=run_name(cfg, run_dir))
    store = WeightsStore.options(**named(cfg, run_dir, "weights")).remote()
    spec = NetSpec.from_config(cfg.game, cfg.net)
    population = Population.options(**named(cfg, run_dir, "population"), num_cpus=0).remote(
        str(run_dir), spec, actor_name(cfg, run_dir, "weights"), cfg.pbt.selfplay_top_k)
    if ray.get(population.ready.remote()) < 0:
        ray.get(store.publish.remote(0, warm if warm is not None
                                     else weights_numpy(PolicyValueNet(spec))))
    workers = start_selfplay(cfg.main_config(), run_dir)
    return {"buffer": buffer, "store": store, "population": population, "workers": workers}


class _SelfplayThread(threading.Thread):
    """Keeps the selfplay stream going (`SelfplayPump`) while Tune runs the members, logs
    one status line every ``run.log_every_s`` and fires ``stop`` once ``stop_after``
    evaluations were recorded since it started."""

    def __init__(self, cfg: PBTExperimentConfig, pump: SelfplayPump, shared: dict,
                 stop: _Interrupt, stop_after: int | None):
        super().__init__(daemon=True, name="selfplay-pump")
        self.cfg, self.pump, self.shared = cfg, pump, shared
        self.interrupt, self.stop_after = stop, stop_after
        self.evaluations_at_start = ray.get(shared["population"].evaluations.remote())
        self.halt = threading.Event()
        self.start()

    def run(self) -> None:
        last = checked = time.perf_counter()
        while not self.halt.is_set():
            self.pump.poll(timeout=0.5)
            if self.stop_after and time.perf_counter() - checked > 1.0:
                checked = time.perf_counter()
                done = ray.get(self.shared["population"].evaluations.remote())
                if done - self.evaluations_at_start >= self.stop_after:
                    self.interrupt.fire(f"{self.stop_after} evaluations")
            if time.perf_counter() - last > self.cfg.run.log_every_s:
                last = time.perf_counter()
                try:
                    self._log_status()
                except ray.exceptions.RayError as e:  # an actor restarting: next time
                    log.warning("status unavailable (%s)", type(e).__name__)

    def _log_status(self) -> None:
        stats = ray.get(self.shared["buffer"].stats.remote())
        table = ray.get(self.shared["population"].table_now.remote())
        elapsed = max(time.perf_counter() - self.pump.t0, 1e-9)
        self.pump.writer.add_scalar("buffer/size", stats.size, self.pump.games)
        self.pump.writer.add_scalar("buffer/replay_ratio", stats.replay_ratio, self.pump.games)
        members = " ".join(f"{v.member}:{v.elo:.0f}@{v.step}" for v in ranking(table))
        log.info("%.2f games/s | buffer %d | replay ratio %.2f | selfplay plays %s | "
                 "members (elo@step) %s", self.pump.games / elapsed, stats.size,
                 stats.replay_ratio, table.selfplay[-1].name if table.selfplay else "initial",
                 members or "-")

    def stop(self) -> None:
        """Stop submitting batches; wait up to 30 s for those in flight and count them, so
        ``pump.samples`` is what the stream added to the buffer."""
        self.halt.set()
        self.join(timeout=10)
        refs = list(self.pump.pending)
        ready, rest = ray.wait(refs, num_returns=len(refs), timeout=30) if refs else ([], [])
        for ref in ready:
            try:
                report = ray.get(ref)
            except ray.exceptions.RayError:
                continue
            self.pump.games += report.games
            self.pump.samples += report.samples
        for ref in rest:
            ray.cancel(ref)


class _Interrupt:
    """Ends ``Tuner.fit`` gracefully after ``budget_s`` seconds or on SIGTERM by sending
    this process SIGUSR1, which Tune handles like Ctrl-C (saves the experiment state,
    leaves the members unfinished, so a re-run restores them). Needs the main thread;
    ``reason`` is "time budget", "SIGTERM", "<n> evaluations" (``--stop-after``) or None."""

    def __init__(self, budget_s: float):
        self.reason: str | None = None
        self.main = threading.current_thread() is threading.main_thread()
        self.previous = {}
        if self.main:  # until Tune installs its handler, and after it: only note the signal
            self.previous[signal.SIGUSR1] = signal.signal(signal.SIGUSR1, lambda *_: None)
            self.previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, self._sigterm)
        else:
            log.warning("not on the main thread: no time budget or SIGTERM handling")
        self.timer = threading.Timer(budget_s, self.fire, args=("time budget",))
        self.timer.daemon = True
        if self.main:
            self.timer.start()

    def _sigterm(self, signum, frame) -> None:
        self.fire("SIGTERM")

    def fire(self, reason: str) -> None:
        """Stop the population (once: later reasons are ignored)."""
        if self.reason is not None:
            return
        self.reason = reason
        log.warning("%s: stopping the population (state saved; re-run to resume)", reason)
        os.kill(os.getpid(), signal.SIGUSR1)

    def cancel(self) -> None:
        self.timer.cancel()
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _summary(cfg: PBTExperimentConfig, run_dir: Path, results, shared: dict,
             pump: SelfplayPump, stopped_by: str | None, restored: bool) -> dict:
    """What the run did: members (Tune's last result of each), evaluations and exploits
    (the population league, all runs so far), selfplay and the buffer. (Tune's own
    ``pbt_global.txt`` restarts with each run: its staging copy overwrites the stored one.)"""
    shards = ray.get(shared["buffer"].save.remote())
    stats = ray.get(shared["buffer"].stats.remote())
    members = []
    for r in results:
        m = r.metrics or {}  # the exploit source's last result if interrupted right after
        trial_id = re.search(r"_([0-9a-f]+_\d{5})_", Path(r.path).name)[1]
        members.append({"trial_id": trial_id, "iteration": m.get("training_iteration"),
                        "step": m.get("pbt/step"), "elo": m.get("pbt/elo"),
                        "config": r.config, "error": None if r.error is None else repr(r.error)})
    table = ray.get(shared["population"].table_now.remote())
    return {
        "members": members, "stopped_by": stopped_by,
        "exploits": sum(1 for v in table.versions if v.exploited_from),
        "evaluations": len(table.versions),
        "finished": all((m["iteration"] or 0) >= cfg.pbt.iterations for m in members),
        "restored": restored, "selfplay_workers": len(shared["workers"]),
        "games": pump.games, "samples_generated": pump.samples,
        "selfplay_failures": pump.failures,
        "games_per_s": pump.games / max(time.perf_counter() - pump.t0, 1e-9),
        "best": ranking(table)[0].name if table.versions else None,
        "selfplay_played": [s.name for s in table.selfplay],
        "buffer": dataclasses.asdict(stats), "new_shards": shards,
        "buffer_restored": ray.get(shared["buffer"].restored.remote()),
        "errors": [m["error"] for m in members if m["error"]]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="RingRift AlphaZero population-based training")
    ap.add_argument("--config", required=True, help="YAML (experiments/configs/pbt_*.yaml)")
    ap.add_argument("--run-dir", help="output directory (default runs/<config name>); "
                    "re-running with the same directory resumes the population")
    ap.add_argument("--time-budget", type=float, help="seconds for this invocation (default "
                    "run.time_budget_s); then the population is saved to be resumed")
    ap.add_argument("--stop-after", type=int, metavar="N", help="stop this invocation "
                    "(resumably, like the time budget) once the population recorded N more "
                    "evaluations: run a population in chunks")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config field by its dotted key, e.g. pbt.population=8")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start (`startup.start`: exit 2 for a bad config, run directory or warm start, 1 when
    the cluster cannot hold the population), run, log the summary.

    Args:
        argv: the command line without the program (default ``sys.argv[1:]``).

    Returns:
        The exit status: 0, or 1 when a member failed.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    try:
        started = start(JOB, args)
    except StartupError as e:
        log.error("%s", e)
        return e.exit_code
    summary = run(started, args.time_budget or started.cfg.run.time_budget_s, args.stop_after)
    log.info("done: %s", json.dumps({k: v for k, v in summary.items()
                                     if k not in ("buffer", "members")}, default=str))
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
