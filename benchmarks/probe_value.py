"""Value-learning probe (issue 15): which value target, value loss and weight averaging make the
value head predict game results best, measured on held-out selfplay games (JSON on stdout).

    python benchmarks/probe_value.py --net /tmp/probe_value/net_step176.pt \
        --variants q_mctx,outcome,q_mctx_ema,q_mctx_bce,outcome_ema,outcome_bce

1. Corpus (generated once, cached as ``CACHE_DIR/corpus_<net>_<games>_<seed>.npz``):
   ``--games`` selfplay games of the main job's config (``--config``, default square8 2p:
   its net preset, search and selfplay settings) played by ``--net`` (random init if not
   given) with ``selfplay.play_steps``; every searched decision is recorded
   (``full_search_prob`` 1). Per sample, seat-relative (seat 0 = the player to move),
   `[N, P]` float32 in [-1, 1] unless said otherwise:
   ``outcome`` (final ranks, ``selfplay._to_batch`` with q weight 0), ``q_mctx`` (the root
   value in mctx's convention, ``search.SearchResult.root_value``: the root's network value
   counted as its first visit), ``q_old`` (the convention before: backed-up values only,
   ``((1 + N) q_mctx - v_root) / N``), ``elim`` and ``terr`` (final eliminated rings
   credited to / territory spaces of each seat, counts), ``to_end`` `[N]` (plies from the
   sample to the game's end) and ``game_id`` `[N]`.
2. Games are split into training and held-out games (``--heldout`` fraction).
3. Each variant trains a fresh net of the config's preset with ``train.train_step`` for
   ``--steps`` minibatches (the config's ``train`` section; uniform sampling, symmetry
   augmentation) on its value target, once per ``--train-seeds`` seed, then reports on the
   held-out games: the Pearson correlation of the net's value (seat 0) with the outcome in
   the last 10 plies and at 30-60 plies before the end (with a bootstrap standard error over
   held-out games), the value MSE against the outcome (over seats) and the policy top-1
   accuracy (argmax of the net equals the improved policy's most probable move).
4. Paired comparison (`paired_differences`): each variant minus ``--baseline`` (default
   ``q_mctx``, the target the square8 config used before) on the same held-out positions,
   averaged over the training seeds, with a standard error that combines the bootstrap over
   held-out games (the same resamples for both nets, so the games' own noise largely
   cancels) and the spread over seeds. This is the number a lever is judged by.

Variants (`VARIANTS`): ``outcome`` (q weight 0), ``q_old`` / ``q_mctx`` (``(1 - w) *
outcome + w * root value`` with w 0.5, the two root-value conventions), ``q_mctx_vlw2`` /
``q_mctx_vlw4`` (value-loss weight 2 and 4), ``q_mctx_aux`` (``q_mctx`` plus KataGo-style
auxiliary targets: a linear head on the value head's hidden layer predicts each seat's final
eliminated rings and territory spaces, standardized, loss weight `AUX_WEIGHT`; the head is
dropped after training), ``outcome_aux`` (the same on ``outcome``), ``*_bce`` (``train.value_loss:
bce``, binary cross-entropy of win probabilities: value learning as classification,
Farebrother et al. 2024), ``*_ema`` (the evaluated net is the exponential moving average of
the weights, decay `EMA_DECAY`, as KataGo averages its selfplay nets). The "average z and q"
target follows Oracle's Connect-4 AlphaZero study; the root-value convention is mctx's
(Danihelka et al. 2022); auxiliary targets follow KataGo (Wu 2019, "Accelerating Self-Play
Learning in Go": ownership and score targets).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from probe_stats import paired_differences, value_report  # benchmarks/, beside this script
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ringrift_ray import selfplay
from ringrift_ray.config import AlphaZeroConfig, load_yaml
from ringrift_ray.encoding import encode, expand, values_to_seats
from ringrift_ray.game import ply
from ringrift_ray.inference import Inference
from ringrift_ray.net import NetSpec, PolicyValueNet, infer, load_checkpoint
from ringrift_ray.samples import ARRAY_FIELDS, SampleBatch, take
from ringrift_ray.search.game_fns import network_evaluate
from ringrift_ray.train import losses, make_optimizer, to_tensors, train_step

AUX_WEIGHT = 0.25  # weight of the auxiliary loss (MSE of standardized targets)
EMA_DECAY = 0.995  # weight averaging: horizon ~ 1 / (1 - decay) = 200 steps


@dataclass(frozen=True)
class Variant:
    """One way to learn the value: target ``(1 - q_weight) * outcome + q_weight * root
    value`` (``root_value``: "q_mctx" or "q_old"), the value loss (``value_loss`` "mse" or
    "bce", weight ``value_loss_weight``), auxiliary targets (``aux_weight``) and weight
    averaging (``ema_decay``: the net evaluated is the exponential moving average of the
    trained weights and BatchNorm statistics; 0 = the last weights)."""

    q_weight: float = 0.5
    root_value: str = "q_mctx"
    value_loss_weight: float = 1.0
    aux_weight: float = 0.0
    value_loss: str = "mse"
    ema_decay: float = 0.0


VARIANTS = {
    "outcome": Variant(q_weight=0.0),
    "q_old": Variant(root_value="q_old"),
    "q_mctx": Variant(),
    "q_mctx_vlw2": Variant(value_loss_weight=2.0),
    "q_mctx_vlw4": Variant(value_loss_weight=4.0),
    "q_mctx_aux": Variant(aux_weight=AUX_WEIGHT),
    "outcome_aux": Variant(q_weight=0.0, aux_weight=AUX_WEIGHT),
    "q_mctx_bce": Variant(value_loss="bce"),
    "outcome_bce": Variant(q_weight=0.0, value_loss="bce"),
    "q_mctx_ema": Variant(ema_decay=EMA_DECAY),
    "outcome_ema": Variant(q_weight=0.0, ema_decay=EMA_DECAY),
}
EXTRA = ("outcome", "q_mctx", "q_old", "elim", "terr", "to_end")


def _finished_games(cfg: AlphaZeroConfig, evaluate, games: int, seed: int) -> list:
    """Play ``games`` games with `selfplay.play_steps` and return its finished game slots
    (final state and per-decision records), read where selfplay turns them into samples."""
    finished: list = []
    to_batch = selfplay._to_batch

    def keep(game, slots, q_weight=0.0):
        finished.extend(slots)
        return to_batch(game, slots, q_weight)

    sp = cfg.selfplay.model_copy(update={"full_search_prob": 1.0})
    run = selfplay.new_run(cfg.game, cfg.search, sp, max_games=games)
    rng = np.random.default_rng(seed)
    selfplay._to_batch = keep
    try:
        while run.games_left or any(s is not None for s in run.slots):
            selfplay.play_steps(run, evaluate, rng, min_games=sp.games_per_batch)
    finally:
        selfplay._to_batch = to_batch
    return finished


def make_corpus(cfg: AlphaZeroConfig, net: PolicyValueNet, games: int, seed: int
                ) -> tuple[SampleBatch, dict[str, np.ndarray]]:
    """``(samples, extra arrays)`` of ``games`` selfplay games (module docstring, step 1)."""
    slots = _finished_games(cfg, network_evaluate(Inference(net, "auto")), games, seed)
    players = cfg.game.players
    outcome = selfplay._to_batch(cfg.game, slots, 0.0)
    q_mctx = selfplay._to_batch(cfg.game, slots, 1.0).values[:, :players]
    states = [rec[0] for slot in slots for rec in slot.records]
    _, v_root = infer(net.eval(), encode(states))  # seat-relative, as searched
    n = cfg.search.num_simulations
    searched = (np.diff(outcome.policy_offsets) > 1)[:, None]
    extra = {"outcome": outcome.values[:, :players], "q_mctx": q_mctx,
             "q_old": np.where(searched, ((1 + n) * q_mctx - v_root) / n, v_root)}
    elim, terr, to_end = [], [], []
    for slot in slots:
        final = slot.state
        e = np.array([final.eliminated_rings(p + 1) for p in range(players)], np.float32)
        t = np.array([final.territory(p + 1) for p in range(players)], np.float32)
        for rec in slot.records:
            elim.append(values_to_seats(rec[0], e))
            terr.append(values_to_seats(rec[0], t))
            to_end.append(ply(final) - ply(rec[0]))
    extra.update(elim=np.asarray(elim, np.float32), terr=np.asarray(terr, np.float32),
                 to_end=np.asarray(to_end, np.int32))
    return outcome, {k: np.asarray(v, np.float32 if k != "to_end" else np.int32)
                     for k, v in extra.items()}


def load_or_make_corpus(path: Path, cfg: AlphaZeroConfig, net: PolicyValueNet, games: int,
                        seed: int) -> tuple[SampleBatch, dict[str, np.ndarray], float]:
    """The cached corpus at ``path``, or a new one written there; plus seconds spent."""
    t0 = time.perf_counter()
    if path.is_file():
        z = np.load(path)
        batch = SampleBatch(str(z["board"]), int(z["players"]),
                            **{f: z[f] for f in ARRAY_FIELDS})
        return batch, {k: z[k] for k in EXTRA}, time.perf_counter() - t0
    batch, extra = make_corpus(cfg, net, games, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, board=batch.board, players=batch.players,
             **{f: getattr(batch, f) for f in ARRAY_FIELDS}, **extra)
    return batch, extra, time.perf_counter() - t0


def train_variant(cfg: AlphaZeroConfig, batch: SampleBatch, target: np.ndarray, v: Variant,
                  steps: int, seed: int, aux: np.ndarray | None = None) -> PolicyValueNet:
    """A fresh net trained ``steps`` minibatches on ``batch`` with value target ``target``
    `[N, P]` (seat-relative), the value loss and weight of ``v``, by `train.train_step`.
    With ``aux`` `[N, K]` (standardized auxiliary targets) and ``v.aux_weight`` > 0, a linear
    head on the value head's hidden layer also learns ``aux`` (loss += aux_weight * MSE;
    KataGo's auxiliary targets) and is dropped after training: only its effect on the shared
    layers remains. With ``v.ema_decay`` > 0 the exponential moving average of the weights
    and buffers (`torch.optim.swa_utils.AveragedModel`) is returned instead of the last
    weights."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    tcfg = cfg.train.model_copy(update={"value_loss_weight": v.value_loss_weight,
                                        "value_loss": v.value_loss})
    net = PolicyValueNet(NetSpec(cfg.game.board, cfg.game.players, cfg.net.preset))
    values = batch.values.copy()
    values[:, : batch.players] = target
    batch = SampleBatch(**{**batch.__dict__, "values": values})
    ema = (AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(v.ema_decay), use_buffers=True)
           if v.ema_decay > 0 else None)
    use_aux = aux is not None and v.aux_weight > 0
    if use_aux:
        hidden: dict[str, torch.Tensor] = {}
        hook = net.value_fc[1].register_forward_hook(lambda m, i, o: hidden.update(h=o))
        head = torch.nn.Linear(net.value_fc[2].in_features, aux.shape[1])
        opt, sched = make_optimizer(torch.nn.ModuleList([net, head]), tcfg)
        aux_t = torch.from_numpy(aux.astype(np.float32))
    else:
        opt, sched = make_optimizer(net, tcfg)
    for _ in range(steps):
        rows = rng.integers(len(batch), size=tcfg.batch_size)
        t = to_tensors(take(batch, rows), rng, tcfg.augment)
        if not use_aux:
            train_step(net, opt, sched, t, tcfg)
        else:
            net.train()
            out = losses(net, t, v.value_loss_weight, v.value_loss)
            aux_loss = ((head(hidden["h"]) - aux_t[rows]) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            (out["loss"] + v.aux_weight * aux_loss).backward()
            torch.nn.utils.clip_grad_norm_([*net.parameters(), *head.parameters()],
                                           tcfg.grad_clip)
            opt.step()
            sched.step()
        if ema is not None:
            ema.update_parameters(net)
    if use_aux:
        hook.remove()
    return (ema.module if ema is not None else net).eval()


def aux_targets(extra: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """`[n, 2P]` auxiliary targets of ``rows``: final eliminated rings and territory spaces
    per seat (seat-relative), each standardized over ``rows``."""
    a = np.concatenate([extra["elim"][rows], extra["terr"][rows]], axis=1)
    return (a - a.mean(axis=0)) / np.maximum(a.std(axis=0), 1e-6)


def evaluate_net(net: PolicyValueNet, batch: SampleBatch, extra: dict, seed: int
                 ) -> tuple[dict, np.ndarray]:
    """Held-out metrics of ``net`` (module docstring, step 3) and its value for the player
    to move `[N]` (seat 0)."""
    logits, values = [], []
    for s in range(0, len(batch), 1024):
        lg, v = infer(net, expand(batch.board, batch.cells[s:s + 1024],
                                  batch.scalars[s:s + 1024]))
        logits.append(lg)
        values.append(v)
    logits, values = np.concatenate(logits), np.concatenate(values)
    top = np.array([batch.policy(i)[0][np.argmax(batch.policy(i)[1])]
                    for i in range(len(batch))])
    return {**value_report(values[:, 0], extra, batch.game_id, seed),
            "value_mse": round(float(((values - extra["outcome"]) ** 2).mean()), 4),
            "policy_top1": round(float((logits.argmax(axis=1) == top).mean()), 3)
            }, values[:, 0]


def _parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="experiments/configs/square8_2p.yaml")
    p.add_argument("--net", default=None, help="checkpoint that plays the corpus games")
    p.add_argument("--games", type=int, default=800)
    p.add_argument("--heldout", type=float, default=0.25)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--baseline", default="q_mctx",
                   help="the variant the others are compared with (the default config's)")
    p.add_argument("--cache-dir", default="/tmp/probe_value")
    p.add_argument("--seed", type=int, default=0, help="corpus games and split")
    p.add_argument("--train-seeds", default="0,1,2", help="net init and minibatches")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    args.names = args.variants.split(",")
    unknown = [n for n in [*args.names, args.baseline] if n not in VARIANTS]
    if unknown:
        p.error(f"unknown variant(s) {unknown}; expected some of {list(VARIANTS)}")
    if args.baseline not in args.names:
        args.names.insert(0, args.baseline)
    args.seeds = [int(x) for x in args.train_seeds.split(",")]
    return args


def _corpus_report(args: argparse.Namespace, cfg: AlphaZeroConfig, path: Path, batch,
                   extra: dict, corpus_s: float, tr: np.ndarray, te: np.ndarray) -> dict:
    """The report's header: the corpus, the split, and the targets' own predictive power."""
    ex_te = {k: v[te] for k, v in extra.items()}
    return {
        "config": args.config, "net": args.net, "corpus": str(path),
        "corpus_seconds": round(corpus_s, 1), "games": len(np.unique(batch.game_id)),
        "samples": len(batch), "train_samples": len(tr), "heldout_samples": len(te),
        "heldout_games": len(np.unique(batch.game_id[te])),
        "steps": args.steps, "train_seeds": args.seeds, "batch_size": cfg.train.batch_size,
        "baseline": args.baseline,
        # capped games (move cap) have value target 0 for every seat
        "capped_games": int(len(np.unique(batch.game_id[(extra["outcome"] == 0).all(axis=1)]))),
        "targets_on_heldout": {  # the root values themselves as predictors of the outcome
            k: value_report(ex_te[k][:, 0], ex_te, batch.game_id[te], args.seed)
            for k in ("q_mctx", "q_old")},
        "final_diff_corr_with_outcome": {  # candidate auxiliary targets (future information)
            k: round(float(np.corrcoef(ex_te[k][:, 0] - ex_te[k][:, 1],
                                       ex_te["outcome"][:, 0])[0, 1]), 3)
            for k in ("elim", "terr")},
        "variants": {},
    }


def _train_variants(args: argparse.Namespace, cfg: AlphaZeroConfig, batch, extra: dict,
                    tr: np.ndarray, te: np.ndarray, report: dict) -> dict[str, np.ndarray]:
    """Train and evaluate every variant on every training seed (step 3); fills
    ``report["variants"]`` and returns ``{variant: [S, N]}`` held-out values."""
    ex_te = {k: v[te] for k, v in extra.items()}
    train_batch, test_batch = take(batch, tr), take(batch, te)
    preds: dict[str, list[np.ndarray]] = {n: [] for n in args.names}
    for seed in args.seeds:
        for name in args.names:
            v = VARIANTS[name]
            t0 = time.perf_counter()
            target = (1 - v.q_weight) * extra["outcome"][tr] + v.q_weight * extra[v.root_value][tr]
            trained = train_variant(cfg, train_batch, target, v, args.steps, seed,
                                    aux_targets(extra, tr) if v.aux_weight else None)
            metrics, pred = evaluate_net(trained, test_batch, ex_te, args.seed)
            preds[name].append(pred)
            entry = report["variants"].setdefault(name, {**asdict(v), "seeds": {}})
            entry["seeds"][seed] = {**metrics, "seconds": round(time.perf_counter() - t0, 1)}
            print(json.dumps({name: {"train_seed": seed, **entry["seeds"][seed]}}), flush=True)
    return {n: np.stack(p) for n, p in preds.items()}


def main() -> None:
    args = _parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_yaml(args.config, AlphaZeroConfig)
    spec = NetSpec(cfg.game.board, cfg.game.players, cfg.net.preset)
    torch.manual_seed(args.seed)
    net = load_checkpoint(args.net, spec)[0] if args.net else PolicyValueNet(spec)
    tag = Path(args.net).stem if args.net else "random"
    path = Path(args.cache_dir) / f"corpus_{tag}_{args.games}_{args.seed}.npz"
    batch, extra, corpus_s = load_or_make_corpus(path, cfg, net, args.games, args.seed)
    ids = np.unique(batch.game_id)
    held = np.random.default_rng(args.seed).permutation(ids)[: int(len(ids) * args.heldout)]
    test = np.isin(batch.game_id, held)
    tr, te = np.flatnonzero(~test), np.flatnonzero(test)
    report = _corpus_report(args, cfg, path, batch, extra, corpus_s, tr, te)
    preds = _train_variants(args, cfg, batch, extra, tr, te, report)
    paired = paired_differences(preds, args.baseline, {k: v[te] for k, v in extra.items()},
                                batch.game_id[te], args.seed)
    for name, diff in paired.items():
        report["variants"][name]["vs_baseline"] = diff
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
