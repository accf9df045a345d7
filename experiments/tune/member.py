"""One member of the PBT population: a Ray Tune function trainable (`pbt_member`).

A new member (no Tune checkpoint) starts from the ``train.init_checkpoint`` net when the
config names one (loaded and checked by the driver: `MemberSetup.init_weights`), else from
a fresh net. Each Tune iteration of a member is, in order:

1. **train** ``pbt.steps_per_iteration`` steps of its own network on batches sampled from the
   *shared* `ReplayBuffer` (found by name; the buffer's replay-ratio budget counts every
   member's samples), with the member's ``train.*`` values (`config.with_overrides`: the
   explored values are validated by the same models as the main job's config);
2. **evaluate**: ``eval.games`` games each against random, the heuristic and the current best
   member (`Population.best`), ``eval.num_simulations`` simulations per decision;
3. **record** the games with the `Population` actor, which refits the population's Elo;
   the member's Elo is its PBT score (``pbt/elo``), so exploit acts on playing strength;
4. **report** ``train/*`` and ``pbt/*`` metrics to Tune with a checkpoint (network,
   AdamW state, step, and the member that wrote it) and to TensorBoard
   (``run_dir/tensorboard/<member>``).

After an exploit Tune restarts the member from another member's checkpoint with explored
values: the optimizer state is kept, the learning-rate schedule continues at the copied step
with the new ``train.lr``, ``train.weight_decay`` is set, and the first report after it says
``pbt/exploited = 1``, ``pbt/exploited_from = <source member>`` and
``pbt/restored_checkpoint = <the checkpoint directory Tune handed it>`` (the first report
after any restore names that directory). A new member's first report after a warm start says
``pbt/warm_start = 1``.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import ray
import torch
from ray import tune
from torch.utils.tensorboard import SummaryWriter

from actors.errors import call_with_retry
from actors.metrics import Recorder, run_tags
from experiments.tune.config import PBTExperimentConfig
from ringrift_ray.config import AlphaZeroConfig, TrainConfig, with_overrides
from ringrift_ray.eval import gate, population
from ringrift_ray.eval.matches import search_agent
from ringrift_ray.net import NetSpec, PolicyValueNet, load_weights_numpy, weights_numpy
from ringrift_ray.train import lr_factor, make_optimizer, to_tensors, train_step


@dataclass(frozen=True)
class MemberSetup:
    """What every member shares (passed with ``tune.with_parameters``)."""

    cfg: PBTExperimentConfig
    run_dir: str
    buffer: str  # name of the shared ReplayBuffer actor
    population: str  # name of the Population actor
    namespace: str
    init_weights: dict | None = None  # train.init_checkpoint's weights: a new member's start


def member_name(trial_id: str) -> str:
    """``m<i>`` for the Tune trial id ``<experiment>_<i:05d>``."""
    return f"m{int(trial_id.rsplit('_', 1)[-1])}"


def pbt_member(config: dict, setup: MemberSetup) -> None:
    """Tune function trainable: one member (see the module docstring). Runs until Tune
    stops it (``pbt.iterations``, the time budget, or an exploit that restarts it).

    Args:
        config: the member's explored values, dotted ``train.*`` keys.
        setup: the shared config, run directory and actor names.

    Raises:
        ValueError: an explored value the config models reject.
    """
    started_at = time.time()
    trial_id = tune.get_context().get_trial_id()
    member = member_name(trial_id)
    explored = {k: config[k] for k in setup.cfg.pbt.mutations}
    cfg = with_overrides(setup.cfg.main_config(), explored)
    torch.set_num_threads(max(1, int(setup.cfg.pbt.member_cpus)))
    device = "cuda" if cfg.run.use_gpu and torch.cuda.is_available() else "cpu"
    buffer = ray.get_actor(setup.buffer, namespace=setup.namespace)
    pop = ray.get_actor(setup.population, namespace=setup.namespace)
    spec = NetSpec.from_config(cfg.game, cfg.net)
    net = PolicyValueNet(spec).to(device)
    opt, sched = make_optimizer(net, cfg.train)
    ckpt = tune.get_checkpoint()
    warm = ckpt is None and setup.init_weights is not None  # a new member: the warm start
    if warm:
        load_weights_numpy(net, setup.init_weights)
    step, iteration, source = _restore(ckpt, net, opt, sched, cfg.train)
    exploited_from = source if source not in (None, member) else None
    restored = "" if ckpt is None else ckpt.path
    seed = cfg.run.seed + 7919 * int(member[1:]) + step
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    writer = SummaryWriter(str(Path(setup.run_dir) / "tensorboard" / member))
    while True:
        metrics, step = _train(net, opt, sched, buffer, cfg, spec, step,
                               setup.cfg.pbt.steps_per_iteration, rng, device)
        iteration += 1
        t0 = time.perf_counter()
        outcomes, results = _evaluate(net, pop, cfg, seed + step, device)
        weights = weights_numpy(net)
        rec = call_with_retry(functools.partial(
            pop.record.remote, member, iteration, step, weights, outcomes, results, trial_id,
            exploited_from, explored), "population.record")
        metrics = {f"train/{k}": v for k, v in metrics.items()}
        metrics.update({f"pbt/winrate_vs_{k}": r.win_rate for k, r in results.items()})
        metrics.update({
            "pbt/elo": rec["elo"], "pbt/rank": rec["rank"], "pbt/step": step,
            "pbt/eval_s": time.perf_counter() - t0, "pbt/started_at": started_at,
            "pbt/exploited": int(exploited_from is not None), "pbt/warm_start": int(warm),
            "pbt/exploited_from": exploited_from or "", "pbt/restored_checkpoint": restored,
            "pbt/version": rec["version"]})
        _log(writer, setup, member, metrics, step)
        _report(metrics, net, opt, step, iteration, member)
        exploited_from, restored, warm = None, "", False


def _log(writer: SummaryWriter, setup: MemberSetup, member: str, metrics: dict,
         step: int) -> None:
    """One iteration's numeric ``metrics`` to TensorBoard, and the member's Ray metrics
    (``ringrift_pbt_member_elo``, ``ringrift_pbt_exploits``, ``ringrift_train_steps``,
    ``ringrift_train_loss``; ``worker`` = the member)."""
    for k, v in metrics.items():
        if isinstance(v, int | float):
            writer.add_scalar(k, v, step)
    writer.flush()
    cfg = setup.cfg
    m = Recorder(run_tags(cfg.run.name or Path(setup.run_dir).name, cfg.game.board,
                          cfg.game.players))
    m.set("ringrift_pbt_member_elo", metrics["pbt/elo"], worker=member)
    m.inc("ringrift_pbt_exploits", metrics["pbt/exploited"], worker=member)
    m.inc("ringrift_train_steps", cfg.pbt.steps_per_iteration, worker=member)
    for part in ("policy_loss", "value_loss", "loss"):
        if f"train/{part}" in metrics:
            m.set("ringrift_train_loss", metrics[f"train/{part}"], worker=member,
                  loss=part.removesuffix("_loss") if part != "loss" else "total")


def _train(net, opt, sched, buffer, cfg: AlphaZeroConfig, spec: NetSpec, step: int,
           steps: int, rng: np.random.Generator, device: str) -> tuple[dict, int]:
    """``steps`` train steps on batches sampled from the shared buffer (waiting while it
    warms up or while the population is ahead of the target replay ratio).

    Returns:
        The mean metrics of the steps (``policy_loss``, ``value_loss``, ``loss``, ``lr``,
        ``grad_norm``, ``policy_entropy``) plus ``samples_per_s`` (while training) and
        ``wait_s`` (seconds spent waiting for the buffer); and the new step.
    """
    sums: dict[str, float] = {}
    t0, waited, done = time.perf_counter(), 0.0, 0
    while done < steps:
        batch = call_with_retry(lambda: buffer.sample.remote(
            cfg.train.batch_size, spec.board, spec.players), "buffer.sample")
        if batch is None:
            time.sleep(0.2)
            waited += 0.2
            continue
        out = train_step(net, opt, sched, to_tensors(batch, rng, cfg.train.augment, device),
                         cfg.train)
        for k, v in out.items():
            sums[k] = sums.get(k, 0.0) + v
        done += 1
    metrics = {k: v / done for k, v in sums.items()}
    busy = max(time.perf_counter() - t0 - waited, 1e-9)
    metrics.update(samples_per_s=done * cfg.train.batch_size / busy, wait_s=waited)
    return metrics, step + done


def _evaluate(net: PolicyValueNet, pop, cfg: AlphaZeroConfig, seed: int, device: str
              ) -> tuple[list, dict]:
    """Play ``eval.games`` games each against random, the heuristic and the best member
    (none before the first record); returns `population.summarize` of the matches."""
    best = call_with_retry(lambda: pop.best.remote(), "population.best")
    best_agent = None
    if best is not None:
        best_net = PolicyValueNet(net.spec)
        load_weights_numpy(best_net, ray.get(best[1]))
        best_agent = search_agent(best_net, cfg.eval.num_simulations, name=best[0], device=device,
                                  search=cfg.search)
    me = search_agent(net, cfg.eval.num_simulations, name=population.CANDIDATE, device=device,
                      search=cfg.search)
    matches = gate.play_candidate(me, best_agent, cfg.game.board, cfg.game.players,
                                  cfg.eval, seed=seed, swap_rule=cfg.game.swap_rule)
    return population.summarize(matches)


def _restore(ckpt: tune.Checkpoint | None, net, opt, sched, train: TrainConfig
             ) -> tuple[int, int, str | None]:
    """Load a member checkpoint (possibly another member's, after an exploit) and apply
    this member's ``train`` values to the optimizer: learning rate (the schedule continues
    at the checkpoint's step) and weight decay.

    Returns:
        ``(step, iteration, member that wrote the checkpoint)``; ``(0, 0, None)`` without
        a checkpoint.
    """
    step, iteration, source = 0, 0, None
    if ckpt is not None:
        with ckpt.as_directory() as d:
            net.load_state_dict(torch.load(Path(d) / "model.pt", weights_only=True))
            opt.load_state_dict(torch.load(Path(d) / "optimizer.pt", weights_only=True))
            state = json.loads((Path(d) / "state.json").read_text())
        step, iteration, source = int(state["step"]), int(state["iteration"]), state["member"]
    sched.base_lrs = [train.lr for _ in opt.param_groups]
    sched.last_epoch = step
    for group in opt.param_groups:
        group["initial_lr"], group["weight_decay"] = train.lr, train.weight_decay
        group["lr"] = train.lr * lr_factor(step, train)
    return step, iteration, source


def _report(metrics: dict, net: PolicyValueNet, opt, step: int, iteration: int,
            member: str) -> None:
    """``tune.report`` the metrics with a checkpoint: ``model.pt``, ``optimizer.pt`` (AdamW
    state) and ``state.json`` (step, iteration, the member writing it). Tune copies the
    directory into the trial's storage before returning."""
    with tempfile.TemporaryDirectory(prefix="member-", dir=os.environ.get("TMPDIR")) as d:
        torch.save(net.state_dict(), Path(d) / "model.pt")
        torch.save(opt.state_dict(), Path(d) / "optimizer.pt")
        (Path(d) / "state.json").write_text(json.dumps(
            {"step": step, "iteration": iteration, "member": member}))
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(d))
