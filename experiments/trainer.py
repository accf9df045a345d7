"""The Ray Train per-worker loop of the main job (TorchTrainer, Train V2 API).

Each worker samples from the replay-buffer actor and runs `ringrift_ray.train` steps (DDP
through ``prepare_model``; gloo on CPU, nccl on GPU). Rank 0 reports checkpoints (model,
optimizer, step) so that re-running with the same run name resumes, publishes weights to
the weights store every ``publish_every`` steps, writes ``checkpoints/latest.pt`` and
``checkpoints/best.pt`` (lowest smoothed loss) in the run directory, and logs ``train/*``
metrics to TensorBoard.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import ray
import ray.train
import ray.train.torch
import torch
from torch.utils.tensorboard import SummaryWriter

from ringrift_ray.net import NetSpec, PolicyValueNet, save_checkpoint
from ringrift_ray.train import TrainConfig, make_optimizer, train_loop, weights_numpy


def _restore(net, opt, sched) -> int:
    ckpt = ray.train.get_checkpoint()
    if ckpt is None:
        return 0
    with ckpt.as_directory() as d:
        net.load_state_dict(torch.load(Path(d) / "model.pt", weights_only=True))
        state = torch.load(Path(d) / "optimizer.pt", weights_only=True)
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        return int(json.loads((Path(d) / "state.json").read_text())["step"])


def train_worker(config: dict) -> None:
    """Ray Train entry point; ``config`` holds plain values and actor handles."""
    spec = NetSpec(**config["spec"])
    cfg = TrainConfig(**config["train"])
    ctx = ray.train.get_context()
    rank = ctx.get_world_rank()
    device = ray.train.torch.get_device()
    torch.manual_seed(config["seed"] + rank)
    net = PolicyValueNet(spec).to(device)
    opt, sched = make_optimizer(net, cfg)
    start = _restore(net, opt, sched)
    model = ray.train.torch.prepare_model(net)
    buffer, store = config["buffer"], config["weights"]
    run_dir = Path(config["run_dir"])
    writer = SummaryWriter(str(run_dir / "tensorboard")) if rank == 0 else None
    deadline = config["deadline"]
    steps = max(0, config["steps"] - start)
    best = [float("inf")]
    smooth = [None]
    clock = [time.perf_counter(), 0]

    lag = [0.0]
    published = [start]

    def sample():
        if _past(deadline, device):
            raise _Deadline
        batch = ray.get(buffer.sample.remote(cfg.batch_size, spec.board, spec.players))
        if batch is not None:
            lag[0] = float(published[0] - batch.model_version.mean())
        return batch

    def publish(step: int) -> None:
        if step <= published[0]:  # nothing new since the last publication (or the start)
            return
        published[0] = step
        if rank == 0:  # the store puts (and owns) the copy: readers outlive this worker
            ray.get(store.publish.remote(step, weights_numpy(model)))

    def report(step: int, metrics: dict) -> None:
        clock[1] += metrics["samples"]
        loss = metrics["loss"]
        smooth[0] = loss if smooth[0] is None else 0.95 * smooth[0] + 0.05 * loss
        if step % config["report_every"] and step != start + steps:
            return
        now = time.perf_counter()
        out = {f"train/{k}": v for k, v in metrics.items()}
        out["train/samples_per_s"] = clock[1] / max(now - clock[0], 1e-9)
        out["train/policy_lag"] = lag[0]
        out["step"] = step
        clock[0], clock[1] = now, 0
        checkpoint = None
        if rank == 0:
            for k, v in out.items():
                if k != "step":
                    writer.add_scalar(k, v, step)
            writer.flush()
            if step % config["checkpoint_every"] == 0 or step == start + steps:
                checkpoint = _save(model, opt, sched, step, run_dir, spec)
                if smooth[0] < best[0]:
                    best[0] = smooth[0]
                    save_checkpoint(getattr(model, "module", model), run_dir / "checkpoints" /
                                    "best.pt", step=step, loss=smooth[0])
        ray.train.report(out, checkpoint=checkpoint)

    step = [start]

    def report_and_track(s: int, metrics: dict) -> None:
        step[0] = s
        report(s, metrics)

    try:
        train_loop(model, opt, sched, cfg, steps, start, sample, report_and_track, publish,
                   publish_every=config["publish_every"], wait=lambda: time.sleep(0.2),
                   seed=config["seed"] + rank, device=device)
    except _Deadline:  # all ranks stop at the same step (see _past)
        publish(step[0])
        checkpoint = _save(model, opt, sched, step[0], run_dir, spec) if rank == 0 else None
        ray.train.report({"step": step[0]}, checkpoint=checkpoint)
    if writer is not None:
        writer.close()


class _Deadline(Exception):
    """The run's time budget is spent."""


def _past(deadline: float, device) -> bool:
    """True on every rank once any rank's clock passed ``deadline`` (one tiny all-reduce per
    step keeps DDP ranks stopping at the same step)."""
    flag = torch.tensor([1.0 if time.time() > deadline else 0.0], device=device)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
    return bool(flag.item())


def _save(model, opt, sched, step: int, run_dir: Path, spec: NetSpec):
    net = getattr(model, "module", model)
    save_checkpoint(net, run_dir / "checkpoints" / "latest.pt", step=step)
    d = tempfile.mkdtemp(prefix="ckpt-", dir=os.environ.get("TMPDIR"))
    torch.save(net.state_dict(), Path(d) / "model.pt")
    torch.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()},
               Path(d) / "optimizer.pt")
    (Path(d) / "state.json").write_text(json.dumps({"step": step, "spec": spec.__dict__}))
    return ray.train.Checkpoint.from_directory(d)
