"""The Ray Train per-worker loop of the main job (TorchTrainer, Train V2 API).

``train_loop_config`` carries the job's `AlphaZeroConfig` itself (pydantic models pickle),
the run directory, the deadline (unix time) and the replay-buffer and weights-store
handles. Each worker runs, in order:

1. **restore**: the latest Ray Train checkpoint of this run name (model, optimizer,
   scheduler, step), if any; DDP through ``prepare_model`` (gloo on CPU, nccl on GPU);
2. **sample** a batch of ``train.batch_size`` from the replay buffer (None: wait, retry);
3. **train step** (`ringrift_ray.train.train_step`);
4. **publish** the weights to the store every ``run.publish_every`` steps (rank 0);
5. **report** ``train/*`` metrics every ``run.report_every`` steps and **checkpoint**
   every ``run.checkpoint_every`` (rank 0: Ray Train checkpoint, ``checkpoints/latest.pt``,
   ``checkpoints/best.pt`` = lowest smoothed loss so far, TensorBoard).

It stops after ``run.train_steps`` steps or at the deadline (every rank stops at the same
step, see `_past`), then publishes and checkpoints the last step. ``train/policy_lag`` is
`samples.policy_lag`: the last published version minus the batch's mean model version.
"""

from __future__ import annotations

import json
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
from torch.utils.tensorboard import SummaryWriter

from ringrift_ray.config import AlphaZeroConfig
from ringrift_ray.net import NetSpec, PolicyValueNet, save_checkpoint, weights_numpy
from ringrift_ray.samples import policy_lag
from ringrift_ray.train import make_optimizer, to_tensors, train_step

SMOOTHING = 0.05  # weight of the newest loss in the smoothed loss that picks best.pt


def train_worker(config: dict) -> None:
    """Ray Train entry point; see the module docstring for ``config``."""
    cfg: AlphaZeroConfig = config["cfg"]
    run_dir, deadline = Path(config["run_dir"]), config["deadline"]
    buffer, store = config["buffer"], config["weights"]
    spec = NetSpec.from_config(cfg.game, cfg.net)
    rank = ray.train.get_context().get_world_rank()
    device = ray.train.torch.get_device()
    torch.manual_seed(cfg.run.seed + rank)

    # 1. restore
    net = PolicyValueNet(spec).to(device)
    opt, sched = make_optimizer(net, cfg.train)
    step = published = saved = _restore(net, opt, sched)
    model = ray.train.torch.prepare_model(net)
    rng = np.random.default_rng(cfg.run.seed + rank + step)
    writer = SummaryWriter(str(run_dir / "tensorboard")) if rank == 0 else None
    smooth, best = None, math.inf
    window_start, window_samples, lag = time.perf_counter(), 0, 0.0
    while step < cfg.run.train_steps and not _past(deadline, device):
        # 2. sample
        batch = ray.get(buffer.sample.remote(cfg.train.batch_size, spec.board, spec.players))
        if batch is None:
            time.sleep(0.2)
            continue
        lag = policy_lag(published, batch)
        # 3. train step
        metrics = train_step(model, opt, sched, to_tensors(batch, rng, cfg.train.augment,
                                                           device), cfg.train)
        step += 1
        window_samples += len(batch)
        smooth = metrics["loss"] if smooth is None else (
            (1 - SMOOTHING) * smooth + SMOOTHING * metrics["loss"])
        # 4. publish
        if step % cfg.run.publish_every == 0:
            published = _publish(store, model, step, rank)
        # 5. report / checkpoint
        if step % cfg.run.report_every == 0 or step == cfg.run.train_steps:
            now = time.perf_counter()
            metrics.update(samples_per_s=window_samples / max(now - window_start, 1e-9),
                           policy_lag=lag, samples=len(batch))
            window_start, window_samples = now, 0
            checkpoint = step % cfg.run.checkpoint_every == 0 or step == cfg.run.train_steps
            best = _report(step, metrics, model, opt, sched, run_dir, writer, checkpoint,
                           smooth, best)
            saved = step if checkpoint else saved
    if step > published:
        _publish(store, model, step, rank)
    if step > saved:  # the deadline (or the step budget) ended the loop between checkpoints
        _report(step, {}, model, opt, sched, run_dir, writer, True, smooth, best)
    if writer is not None:
        writer.close()


def _restore(net, opt, sched) -> int:
    """Load the latest Ray Train checkpoint into ``net``, ``opt``, ``sched``; its step
    (0 without one)."""
    ckpt = ray.train.get_checkpoint()
    if ckpt is None:
        return 0
    with ckpt.as_directory() as d:
        net.load_state_dict(torch.load(Path(d) / "model.pt", weights_only=True))
        state = torch.load(Path(d) / "optimizer.pt", weights_only=True)
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        return int(json.loads((Path(d) / "state.json").read_text())["step"])


def _publish(store, model, step: int, rank: int) -> int:
    """Rank 0 publishes the weights as version ``step`` (the store owns its copy, so
    readers outlive this worker); returns ``step`` on every rank."""
    if rank == 0:
        ray.get(store.publish.remote(step, weights_numpy(model)))
    return step


def _report(step: int, metrics: dict, model, opt, sched, run_dir: Path, writer,
            checkpoint: bool, smooth: float | None, best: float) -> float:
    """``ray.train.report`` the metrics (``train/*``) from every rank; on rank 0 also log
    them to TensorBoard and, when ``checkpoint``, attach a checkpoint (`_save`) and write
    ``best.pt`` if ``smooth`` beats ``best``. Returns the new best smoothed loss."""
    out = {f"train/{k}": v for k, v in metrics.items()}
    ckpt = None
    if writer is not None:
        for k, v in out.items():
            writer.add_scalar(k, v, step)
        writer.flush()
        if checkpoint:
            ckpt = _save(model, opt, sched, step, run_dir)
            if smooth is not None and smooth < best:
                best = smooth
                save_checkpoint(getattr(model, "module", model),
                                run_dir / "checkpoints" / "best.pt", step=step, loss=smooth)
    ray.train.report({**out, "step": step}, checkpoint=ckpt)
    return best


def _past(deadline: float, device) -> bool:
    """True on every rank once any rank's clock passed ``deadline`` (one tiny all-reduce per
    step keeps DDP ranks stopping at the same step)."""
    flag = torch.tensor([1.0 if time.time() > deadline else 0.0], device=device)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
    return bool(flag.item())


def _save(model, opt, sched, step: int, run_dir: Path) -> ray.train.Checkpoint:
    """Write ``checkpoints/latest.pt`` and a Ray Train checkpoint (model, optimizer and
    scheduler state, step) of ``step``: the one place every checkpoint is made."""
    net = getattr(model, "module", model)
    save_checkpoint(net, run_dir / "checkpoints" / "latest.pt", step=step)
    d = tempfile.mkdtemp(prefix="ckpt-", dir=os.environ.get("TMPDIR"))
    torch.save(net.state_dict(), Path(d) / "model.pt")
    torch.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()},
               Path(d) / "optimizer.pt")
    spec = {"board": net.spec.board, "players": net.spec.players, "preset": net.spec.preset}
    (Path(d) / "state.json").write_text(json.dumps({"step": step, "spec": spec}))
    return ray.train.Checkpoint.from_directory(d)
