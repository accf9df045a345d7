"""Losses, augmentation and the train step (no Ray here; the Ray Train loop that samples,
publishes and checkpoints around `train_step` is ``experiments/ops/trainer.py``).

Loss = policy cross-entropy against the sparse improved-policy targets
``-sum_a pi(a) log softmax(logits)_a`` + ``value_loss_weight`` * the value loss of the
per-seat values (seats beyond the player count are ignored): their mean squared error, or
with ``value_loss: bce`` the binary cross-entropy of win probabilities ``(v + 1) / 2``
(value learning as classification: Farebrother et al. 2024, "Stop Regressing"); weight
decay via AdamW; learning rate with linear warmup then cosine decay to ``lr * final_lr_fraction``.

`weight_average` keeps an exponential moving average of the weights (``train.ema_decay``;
torch's ``AveragedModel``): the net selfplay plays and the gate tests, as KataGo plays an
average of recent weights, while the optimizer steps the raw ones.

Symmetry augmentation draws one random board symmetry per sample and maps planes and
policy indices with `symmetry.action_maps`; samples whose target involves a line or
territory choice (anchors that depend on the position) keep the identity.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ringrift_ray.config import TrainConfig
from ringrift_ray.encoding import expand
from ringrift_ray.samples import SampleBatch
from ringrift_ray.symmetry import action_maps, symmetries


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Multiplier of ``cfg.lr`` at ``step`` (warmup, then cosine to ``final_lr_fraction``)."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    t = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.total_steps - cfg.warmup_steps))
    return cfg.final_lr_fraction + (1 - cfg.final_lr_fraction) * 0.5 * (1 + math.cos(math.pi * t))


def weight_average(net: torch.nn.Module, decay: float | None
                   ) -> torch.optim.swa_utils.AveragedModel | None:
    """An exponential moving average of ``net``'s parameters and buffers (BatchNorm
    statistics), or None without ``decay``. ``update_parameters(net)`` after each step makes
    it ``decay * average + (1 - decay) * net`` (the first update copies ``net``); the
    average is ``.module`` (a copy of ``net``); ``.n_averaged`` counts the updates."""
    if decay is None:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def make_optimizer(net: torch.nn.Module, cfg: TrainConfig):
    """``(AdamW, LambdaLR)`` for ``net``."""
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, cfg))
    return opt, sched


def to_tensors(batch: SampleBatch, rng: np.random.Generator | None, augment: bool,
               device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Network inputs and targets of a sample batch.

    Returns:
        ``obs [B, C, G, G]`` float32, ``values [B, P]`` float32 (seat-relative),
        ``pi_row [T]`` int64 (sample of each policy entry), ``pi_index [T]`` int64,
        ``pi_prob [T]`` float32.
    """
    obs = expand(batch.board, batch.cells, batch.scalars)
    rows = np.repeat(np.arange(len(batch)), np.diff(batch.policy_offsets))
    index = batch.policy_indices.astype(np.int64)
    if augment and rng is not None:
        obs, index, _ = augment_samples(batch.board, obs, rows, index, rng)
    return {
        "obs": torch.from_numpy(obs).to(device),
        "values": torch.from_numpy(batch.values[:, : batch.players].copy()).to(device),
        "pi_row": torch.from_numpy(rows).to(device),
        "pi_index": torch.from_numpy(index).to(device),
        "pi_prob": torch.from_numpy(batch.policy_values.astype(np.float32)).to(device),
    }


def augment_samples(board: str, obs: np.ndarray, rows: np.ndarray, index: np.ndarray,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random symmetry per sample: ``(obs [B, C, G, G], policy indices [T], symmetry ids [B])``;
    samples with a line or territory target entry keep the identity (id 0)."""
    maps = action_maps(board)
    syms = symmetries(board)
    g = rng.integers(len(syms), size=obs.shape[0])
    mapped = maps[g[rows], index]
    unmappable = np.zeros(obs.shape[0], dtype=bool)
    np.logical_or.at(unmappable, rows, mapped < 0)
    g[unmappable] = 0
    mapped = np.where(unmappable[rows], index, maps[g[rows], index])
    b, c, h, w = obs.shape
    flat = obs.reshape(b, c, h * w)
    out = np.empty_like(flat)
    for k in np.unique(g):
        sel = g == k
        out[np.ix_(sel, np.arange(c), syms[k].grid_perm)] = flat[sel]
    return out.reshape(b, c, h, w), mapped, g


def losses(net: torch.nn.Module, t: dict[str, torch.Tensor], value_loss_weight: float,
           value_loss: str = "mse") -> dict[str, torch.Tensor]:
    """``policy_loss`` (cross-entropy vs sparse targets), ``value_loss`` (``"mse"``: mean
    squared error over seats; ``"bce"``: binary cross-entropy of ``(v + 1) / 2`` against
    ``(target + 1) / 2``, mean over seats), ``value_mse`` (always the MSE), ``loss``
    (policy + weight * value loss) and ``policy_entropy`` of the network.

    Raises:
        ValueError: ``value_loss`` is neither ``"mse"`` nor ``"bce"``.
    """
    logits, values = net(t["obs"])
    logz = torch.logsumexp(logits, dim=1)  # [B]
    picked = logits[t["pi_row"], t["pi_index"]]  # [T]
    dot = torch.zeros_like(logz).index_add_(0, t["pi_row"], t["pi_prob"] * picked)
    policy_loss = (logz - dot).mean()
    value_mse = ((values - t["values"]) ** 2).mean()
    if value_loss == "mse":
        value = value_mse
    elif value_loss == "bce":
        # written out: F.binary_cross_entropy refuses to run under autocast
        win, target = ((values.float() + 1) / 2).clamp(1e-6, 1 - 1e-6), (t["values"] + 1) / 2
        value = -(target * win.log() + (1 - target) * (1 - win).log()).mean()
    else:
        raise ValueError(f"value_loss must be 'mse' or 'bce', got {value_loss!r}")
    with torch.no_grad():
        logp = torch.log_softmax(logits, dim=1)
        entropy = -(logp.exp() * logp).sum(dim=1).mean()
    return {"policy_loss": policy_loss, "value_loss": value, "value_mse": value_mse,
            "loss": policy_loss + value_loss_weight * value, "policy_entropy": entropy}


def train_step(net, opt, sched, t: dict[str, torch.Tensor], cfg: TrainConfig) -> dict[str, float]:
    """One optimizer step; returns float metrics (``train/...`` names without the prefix)."""
    net.train()
    out = losses(net, t, cfg.value_loss_weight, cfg.value_loss)
    opt.zero_grad(set_to_none=True)
    out["loss"].backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
    opt.step()
    sched.step()
    metrics = {k: float(v.detach()) for k, v in out.items()}
    metrics["grad_norm"] = float(grad_norm)
    metrics["lr"] = float(sched.get_last_lr()[0])
    return metrics
