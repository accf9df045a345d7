"""One trial of the hyperparameter search: a whole small AlphaZero in one process, as a Ray
Tune function trainable (`search_trial`).

The trial's configuration is the main config with the sampled values applied
(`config.with_overrides`: validated by the same models). Each Tune iteration:

1. **selfplay** ``tuning.games_per_iteration`` games with the trial's own network (batches of
   ``selfplay.games_per_batch``, the trial's search and selfplay settings) into a local
   `Buffer` (the trial's ``buffer.*``: window, warm-up, target replay ratio);
2. **train** while the store grants batches (``buffer.target_replay_ratio``), at most
   ``tuning.max_steps_per_iteration`` steps;
3. **evaluate**: ``eval.games`` games against the fixed opponent (``tuning.opponent``), seats
   rotated, the trial's network searching with ``eval.num_simulations`` and its search settings;
4. **report** ``search/win_rate`` (the objective ASHA and Optuna see), ``search/*``,
   ``selfplay/*`` and ``train/*`` to Tune and to TensorBoard
   (``run_dir/tensorboard/<trial id>``).

No checkpoints: ASHA only stops trials, and the result is a configuration, not a network.
With ``train.init_checkpoint`` every trial's network starts from that net (the driver loads
and checks it; `TrialSetup.init_weights`), and the space may not search ``net.*``.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from ray import tune
from torch.utils.tensorboard import SummaryWriter

from experiments.tune.config import SearchExperimentConfig
from ringrift_ray.config import AlphaZeroConfig, with_overrides
from ringrift_ray.eval.baselines import heuristic_agent, random_agent
from ringrift_ray.eval.matches import play_match, search_agent
from ringrift_ray.net import NetSpec, PolicyValueNet, infer, load_weights_numpy
from ringrift_ray.replay.buffer import Buffer
from ringrift_ray.search.game_fns import network_evaluate
from ringrift_ray.selfplay import play_games
from ringrift_ray.train import make_optimizer, to_tensors, train_step


@dataclass(frozen=True)
class TrialSetup:
    """What every trial shares (passed with ``tune.with_parameters``)."""

    cfg: SearchExperimentConfig
    run_dir: str
    init_weights: dict | None = None  # train.init_checkpoint's weights: every trial's start


def search_trial(config: dict, setup: TrialSetup) -> None:
    """Tune function trainable: one configuration (see the module docstring). Runs until
    ASHA stops it or it reaches ``tuning.iterations``.

    Args:
        config: the sampled values, dotted keys of the main config.
        setup: the base config and the run directory.

    Raises:
        ValueError: a sampled value the config models reject.
    """
    cfg = with_overrides(setup.cfg.main_config(), config)
    t = setup.cfg.tuning
    torch.set_num_threads(max(1, int(t.trial_cpus)))
    trial_id = tune.get_context().get_trial_id()
    seed = cfg.run.seed + zlib.crc32(trial_id.encode())  # ids are hex strings here
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    spec = NetSpec.from_config(cfg.game, cfg.net)
    net = PolicyValueNet(spec)
    if setup.init_weights is not None:
        load_weights_numpy(net, setup.init_weights)
    opt, sched = make_optimizer(net, cfg.train)
    store = Buffer(cfg.buffer, seed=seed, policy_width=cfg.selfplay.policy_top_k)
    opponent = heuristic_agent() if t.opponent == "heuristic" else random_agent()
    writer = SummaryWriter(str(Path(setup.run_dir) / "tensorboard" / trial_id))
    step, games = 0, 0
    for iteration in range(1, t.iterations + 1):
        t0 = time.perf_counter()
        played, samples = _selfplay(net, store, cfg, t.games_per_iteration, rng, games)
        games += played
        t1 = time.perf_counter()
        metrics, done = _train(net, opt, sched, store, cfg, t.max_steps_per_iteration, rng)
        step += done
        t2 = time.perf_counter()
        match = play_match([search_agent(net, cfg.eval.num_simulations, name="trial", device="cpu",
                                         search=cfg.search), opponent],
                           cfg.game.board, cfg.game.players, cfg.eval.games, seed + iteration,
                           concurrency=cfg.eval.concurrency, max_moves=cfg.eval.max_moves,
                           swap_rule=cfg.game.swap_rule)
        out = {f"train/{k}": v for k, v in metrics.items()}
        out.update({"search/win_rate": match.win_rate, "search/win_rate_low": match.interval[0],
                    "search/eval_games": len(match.games), "search/train_steps": step,
                    "search/eval_s": time.perf_counter() - t2, "search/train_s": t2 - t1,
                    "selfplay/games_per_s": played / max(t1 - t0, 1e-9),
                    "selfplay/samples": samples, "buffer/size": store.stats().size})
        for k, v in out.items():
            writer.add_scalar(k, v, iteration)
        writer.flush()
        tune.report(out)


def _selfplay(net: PolicyValueNet, store: Buffer, cfg: AlphaZeroConfig, games: int,
              rng: np.random.Generator, first_game_id: int) -> tuple[int, int]:
    """Play at least ``games`` games (whole batches) with ``net`` into ``store``; returns
    (games played, samples added)."""
    net.eval()
    evaluate = network_evaluate(lambda obs: infer(net, obs, "cpu"))
    played = samples = 0
    while played < games:
        batch, stats = play_games(cfg.game, evaluate, cfg.search, cfg.selfplay, rng,
                                  first_game_id=first_game_id + played)
        if len(batch):
            store.add(batch)
        played += stats.games
        samples += len(batch)
    return played, samples


def _train(net, opt, sched, store: Buffer, cfg: AlphaZeroConfig, max_steps: int,
           rng: np.random.Generator) -> tuple[dict, int]:
    """Train while the store grants batches (warm-up and target replay ratio), at most
    ``max_steps`` steps; returns the mean metrics (empty when no step ran) and the steps."""
    sums: dict[str, float] = {}
    done = 0
    while done < max_steps:
        batch = store.sample(cfg.train.batch_size, cfg.game.board, cfg.game.players)
        if batch is None:
            break
        out = train_step(net, opt, sched, to_tensors(batch, rng, cfg.train.augment, "cpu"),
                         cfg.train)
        for k, v in out.items():
            sums[k] = sums.get(k, 0.0) + v
        done += 1
    return {k: v / done for k, v in sums.items()}, done
