"""The Ray Train per-worker loop of the main job (TorchTrainer, Train V2 API).

``train_loop_config`` carries the job's `AlphaZeroConfig` itself (pydantic models pickle),
the run directory and the handles of the replay buffer, the weights store and the
`Budget` (the deadline, which a SIGTERM to the driver moves to now). Each worker runs, in order:

1. **restore**: the latest Ray Train checkpoint of this run name (model, optimizer,
   scheduler, step), if any: on a re-run and after a worker failure (Ray Train restarts
   the worker group up to ``run.max_train_failures`` times); rank 0 logs
   ``train/resumed_at_step``. Without one, the network starts from ``init_weights`` (an
   object ref of the ``train.init_checkpoint`` weights the driver loaded and checked; None:
   a fresh net). DDP through ``prepare_model`` (gloo on CPU, nccl on GPU);
2. **sample**: rank 0 decides for every rank (`_decide`, broadcast): stop at the deadline,
   train when the buffer granted ``train.batch_size * world_size`` samples (one
   ``reserve`` of the effective batch, so the replay ratio counts it), else wait; on
   "train" each rank ``draw``s its own ``train.batch_size`` (independent draws from the
   buffer's generator, so ranks train on different samples; augmentation is seeded by
   ``run.seed + rank``);
3. **train step** (`ringrift_ray.train.train_step`);
4. **publish** the weights to the store every ``run.publish_every`` steps (rank 0; with
   ``train.ema_decay`` their exponential moving average, `ringrift_ray.train.weight_average`,
   which ``checkpoints/latest.pt`` holds too);
5. **report** ``train/*`` metrics every ``run.report_every`` steps and **checkpoint**
   every ``run.checkpoint_every`` (rank 0: Ray Train checkpoint, ``checkpoints/latest.pt``,
   ``checkpoints/lowest_loss.pt`` = lowest smoothed train loss so far (not the strongest
   model: that is the evaluator's ``promoted.pt``), TensorBoard). The run directory
   may be a URI (`ringrift_ray.storage`); TensorBoard then goes through a local staging
   folder (`tensorboard.open_writer`).

Every rank takes part in the same collectives in the same order whatever the buffer
answers: one broadcast per iteration, then DDP's gradient all-reduce when training. All
ranks stop at the same step: after ``run.train_steps`` steps or at rank 0's deadline; then
rank 0 publishes and checkpoints the last step. ``train/policy_lag`` is
`samples.policy_lag`: the last published version minus the batch's mean model version.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import ray
import ray.train
import ray.train.torch
import torch
from ray.train.v2._internal.execution import context as train_context
from torch.utils.tensorboard import SummaryWriter

from actors.errors import call_with_retry
from actors.metrics import Recorder, run_tags
from experiments.ops.fleet import run_name
from experiments.ops.tensorboard import open_writer
from ringrift_ray import storage
from ringrift_ray.config import AlphaZeroConfig
from ringrift_ray.net import (
    NetSpec,
    PolicyValueNet,
    load_weights_numpy,
    save_checkpoint,
    weights_numpy,
)
from ringrift_ray.samples import policy_lag
from ringrift_ray.train import make_optimizer, to_tensors, train_step, weight_average

log = logging.getLogger(__name__)
TRAIN, WAIT, STOP = 0, 1, 2  # `_decide`'s answers
SMOOTHING = 0.05  # weight of the newest loss in the smoothed loss that picks lowest_loss.pt


def train_worker(config: dict) -> None:
    """Ray Train entry point; see the module docstring for ``config``."""
    _quiet_report_lines()
    cfg: AlphaZeroConfig = config["cfg"]
    run_dir = config["run_dir"]  # a path or a URI
    buffer, store, budget = config["buffer"], config["weights"], config["budget"]
    spec = NetSpec.from_config(cfg.game, cfg.net)
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    device = ray.train.torch.get_device()
    torch.manual_seed(cfg.run.seed + rank)

    # 1. restore
    nets, opt, sched, step = _restore(spec, cfg, device, config.get("init_weights"), rank)
    saved = step
    # after a worker-group restart the store may hold versions past the checkpoint: those
    # steps are trained again but not published again (versions only increase)
    published = max(step, call_with_retry(lambda: store.version.remote(), "weights.version"))
    rng = np.random.default_rng(cfg.run.seed + rank + step)
    writer = _writer(run_dir, step) if rank == 0 else None
    smooth, best = None, math.inf
    window_start, window_samples, lag = time.perf_counter(), 0, 0.0
    while step < cfg.run.train_steps:
        # 2. sample
        decision = _decide(rank, world, budget, buffer, cfg.train.batch_size, spec, device,
                           step)
        if decision == STOP:
            break
        if decision == WAIT:
            _wait(rank, cfg, run_dir)
            continue
        batch = call_with_retry(
            lambda: buffer.draw.remote(cfg.train.batch_size, spec.board, spec.players),
            "buffer.draw")
        lag = policy_lag(published, batch)
        # 3. train step
        metrics = _step(nets, opt, sched, to_tensors(batch, rng, cfg.train.augment, device), cfg)
        step += 1
        window_samples += len(batch)
        smooth = metrics["loss"] if smooth is None else smooth + SMOOTHING * (metrics["loss"]
                                                                              - smooth)
        # 4. publish
        if step % cfg.run.publish_every == 0 and step > published:
            published = _publish(store, nets, step, rank)
        # 5. report / checkpoint
        if step % cfg.run.report_every == 0 or step == cfg.run.train_steps:
            metrics.update(policy_lag=lag, samples=len(batch), samples_per_s=window_samples
                           / max(time.perf_counter() - window_start, 1e-9))
            window_start, window_samples = time.perf_counter(), 0
            if step % cfg.run.checkpoint_every == 0 or step == cfg.run.train_steps:
                saved = step
            best = _report(step, metrics, nets, opt, sched, cfg, run_dir, writer,
                           saved == step, smooth, best)
    if step > published:
        _publish(store, nets, step, rank)
    if step > saved:  # the deadline (or the step budget) ended the loop between checkpoints
        _report(step, {}, nets, opt, sched, cfg, run_dir, writer, True, smooth, best)
    if writer is not None:
        writer.close()


WAIT_S = 0.2  # sleep while the buffer has no samples to grant


def _recorder(cfg: AlphaZeroConfig, run_dir: str) -> Recorder:
    return _recorder_for(run_name(cfg, run_dir), cfg.game.board, cfg.game.players)


@functools.cache
def _recorder_for(run: str, board: str, players: int) -> Recorder:
    return Recorder(run_tags(run, board, players))


def _wait(rank: int, cfg: AlphaZeroConfig, run_dir: str) -> None:
    """Sleep `WAIT_S`; rank 0 counts it in ``ringrift_train_wait_seconds``."""
    time.sleep(WAIT_S)
    if rank == 0:
        _recorder(cfg, run_dir).inc("ringrift_train_wait_seconds", WAIT_S, worker="0")


def _record(cfg: AlphaZeroConfig, run_dir: str, step: int, metrics: dict) -> None:
    """Rank 0's ``ringrift_train_*`` metrics of the report at ``step`` (reports come every
    ``run.report_every`` steps, and at ``run.train_steps``)."""
    m, every = _recorder(cfg, run_dir), cfg.run.report_every
    m.inc("ringrift_train_steps", step - (step - 1) // every * every, worker="0")
    m.set("ringrift_train_samples_per_s", metrics["samples_per_s"], worker="0")
    m.set("ringrift_train_policy_lag", metrics["policy_lag"], worker="0")
    for part in ("policy_loss", "value_loss", "loss"):
        if part in metrics:
            m.set("ringrift_train_loss", metrics[part], worker="0",
                  loss=part.removesuffix("_loss") if part != "loss" else "total")


def _quiet_report_lines() -> None:
    """Drop Ray Train's INFO line per ``ray.train.report`` (a full metrics dump on the
    driver's console every ``report_every`` steps). ``RunConfig(logging_config=
    LoggingConfig("WARNING"))`` is the supported switch, but Ray 2.60 logs that line through
    ``logging.getLogger(__file__)``, outside the ``ray.train`` tree the switch filters."""
    logging.getLogger(train_context.__file__).setLevel(logging.WARNING)


def _writer(run_dir: str, step: int) -> SummaryWriter:
    """Rank 0's TensorBoard writer; logs ``train/resumed_at_step`` when resuming."""
    writer = open_writer(run_dir, "trainer")
    if step > 0:
        writer.add_scalar("train/resumed_at_step", step, step)
    return writer


def _restore(spec: NetSpec, cfg: AlphaZeroConfig, device, init_weights=None, rank: int = 0):
    """The network (DDP-wrapped by ``prepare_model``), AdamW and schedule, loaded from the
    latest Ray Train checkpoint when there is one, and rank 0's weight average
    (`ringrift_ray.train.weight_average`; None on other ranks or without
    ``train.ema_decay``), restored from the checkpoint's ``average.pt`` when it has one
    (else it starts from the restored weights at its first update): ``((model, average),
    opt, sched, step)`` (step 0 without a checkpoint; the network then starts from
    ``init_weights``, an object ref of ``{name: array}``, when given). The checkpoint is
    opened once (on object storage, one download)."""
    net = PolicyValueNet(spec)
    if init_weights is not None and ray.train.get_checkpoint() is None:
        load_weights_numpy(net, ray.get(init_weights))
    net = net.to(device)
    opt, sched = make_optimizer(net, cfg.train)
    step, average_state = 0, None
    ckpt = ray.train.get_checkpoint()
    if ckpt is not None:
        with ckpt.as_directory() as d:
            net.load_state_dict(torch.load(Path(d) / "model.pt", weights_only=True))
            state = torch.load(Path(d) / "optimizer.pt", weights_only=True)
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            step = int(json.loads((Path(d) / "state.json").read_text())["step"])
            if rank == 0 and (Path(d) / "average.pt").exists():
                average_state = torch.load(Path(d) / "average.pt", weights_only=True)
    average = weight_average(net, cfg.train.ema_decay) if rank == 0 else None
    if average is not None and average_state is not None:
        average.load_state_dict(average_state)
    return (ray.train.torch.prepare_model(net), average), opt, sched, step


def _step(nets: tuple, opt, sched, tensors, cfg: AlphaZeroConfig) -> dict:
    """One `ringrift_ray.train.train_step` of ``nets[0]``, then the weight average's
    (``nets[1]``, rank 0 with ``train.ema_decay``) update; the step's metrics."""
    model, average = nets
    metrics = train_step(model, opt, sched, tensors, cfg.train)
    if average is not None:
        average.update_parameters(getattr(model, "module", model))
    return metrics


def _publish(store, nets: tuple, step: int, rank: int) -> int:
    """Rank 0 publishes the weights as version ``step`` (the weight average's when there is
    one; the store owns its copy, so readers outlive this worker); returns ``step`` on every
    rank."""
    if rank == 0:
        model, average = nets
        ray.get(store.publish.remote(step, weights_numpy(model if average is None else average)))
    return step


def _report(step: int, metrics: dict, nets: tuple, opt, sched, cfg: AlphaZeroConfig,
            run_dir: str, writer, checkpoint: bool, smooth: float | None, best: float) -> float:
    """``ray.train.report`` the metrics (``train/*``) from every rank; on rank 0 also log
    them to TensorBoard and the Ray metrics (`_record`) and, when ``checkpoint``, attach a
    checkpoint (`_save` of ``nets`` = (model, weight average or None)) and write
    ``lowest_loss.pt`` (the trained weights) if ``smooth`` beats ``best``; a checkpoint the
    store refuses (``OSError``) is logged and skipped, not fatal.
    Returns the new best smoothed loss."""
    model = nets[0]
    out = {f"train/{k}": v for k, v in metrics.items()}
    ckpt = None
    if writer is not None:
        for k, v in out.items():
            writer.add_scalar(k, v, step)
        writer.flush()
        if metrics:
            _record(cfg, run_dir, step, metrics)
        if checkpoint:
            try:
                ckpt = _save(*nets, opt, sched, step, run_dir)
                if smooth is not None and smooth < best:
                    save_checkpoint(getattr(model, "module", model),
                                    storage.join(run_dir, "checkpoints", "lowest_loss.pt"),
                                    step=step, loss=smooth)
                    best = smooth
            except OSError as e:  # a store outage: train on, the next checkpoint tries again
                log.warning("checkpoint of step %d not written to %s (training goes on; the "
                            "next one is due in %d steps): %s", step, run_dir,
                            cfg.run.checkpoint_every, e)
    # the staged ckpt-* folder is deleted once uploaded (they piled up in TMPDIR before)
    ray.train.report({**out, "step": step}, checkpoint=ckpt,
                     delete_local_checkpoint_after_upload=True)
    return best


def _decide(rank: int, world: int, budget, buffer, batch_size: int, spec: NetSpec,
            device, step: int) -> int:
    """What every rank does next, decided by rank 0 and broadcast (the one collective of
    an iteration besides DDP's gradient all-reduce): `STOP` past the `Budget`'s deadline,
    `TRAIN` when the buffer reserved ``batch_size * world`` samples, else `WAIT` (warm-up,
    the trainer is ahead of the target replay ratio, or the buffer is restarting)."""
    code = torch.tensor([WAIT], dtype=torch.int64, device=device)
    if rank == 0:
        if time.time() > call_with_retry(lambda: budget.check.remote(step), "budget"):
            code[0] = STOP
        elif call_with_retry(lambda: buffer.reserve.remote(batch_size * world, spec.board,
                                                           spec.players), "buffer.reserve"):
            code[0] = TRAIN
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.broadcast(code, src=0)
    return int(code.item())


def _save(model, average, opt, sched, step: int, run_dir: str) -> ray.train.Checkpoint:
    """Write ``checkpoints/latest.pt`` (the weight ``average``'s when there is one: the net
    selfplay plays) and a Ray Train checkpoint (model, optimizer and scheduler state, the
    average's state, step) of ``step``: the one place every checkpoint is made. The Ray
    Train checkpoint is staged in a ``ckpt-*`` folder of ``TMPDIR`` that ``ray.train.report``
    deletes once it has uploaded it (`_report`)."""
    net = getattr(model, "module", model)
    save_checkpoint(net if average is None else average.module,
                    storage.join(run_dir, "checkpoints", "latest.pt"), step=step)
    d = tempfile.mkdtemp(prefix="ckpt-", dir=os.environ.get("TMPDIR"))
    torch.save(net.state_dict(), Path(d) / "model.pt")
    if average is not None:
        torch.save(average.state_dict(), Path(d) / "average.pt")
    torch.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()},
               Path(d) / "optimizer.pt")
    spec = {"board": net.spec.board, "players": net.spec.players, "preset": net.spec.preset}
    (Path(d) / "state.json").write_text(json.dumps({"step": step, "spec": spec}))
    return ray.train.Checkpoint.from_directory(d)
