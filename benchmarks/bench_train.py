"""Training throughput (JSON): samples/s of the train step in a plain torch loop and inside
Ray Train TorchTrainer workers (DDP over gloo with 2+ workers: samples/s counts every
rank's batch; same net, batch size per rank and steps; startup and the first steps
excluded). Data: selfplay samples of a tiny net in an in-process Window.

    python benchmarks/bench_train.py --preset small --batch 256 --steps 30 --workers 1 2
"""

import argparse
import json
import os
import tempfile
import time

import numpy as np
import ray
import ray.train
import ray.train.torch
import torch
from ray.train import RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from ringrift_ray.cli.progress import progress
from ringrift_ray.config import BufferConfig, GameConfig, SearchConfig, SelfplayConfig, TrainConfig
from ringrift_ray.net import NetSpec, PolicyValueNet, infer
from ringrift_ray.replay.window import Window
from ringrift_ray.search.game_fns import network_evaluate
from ringrift_ray.selfplay import play_games
from ringrift_ray.train import make_optimizer, to_tensors, train_step

WARMUP = 3


def make_store(board: str, players: int, n: int) -> Window:
    net = PolicyValueNet(NetSpec(board, players, "tiny")).eval()
    ev = network_evaluate(lambda obs: infer(net, obs))
    store = Window(board, players, BufferConfig(capacity=max(n, 1024), min_samples=1),
                        np.random.default_rng(0))
    seed = 0
    while len(store) < n:
        batch, _ = play_games(
            GameConfig(board=board, players=players), ev, SearchConfig(num_simulations=2),
            SelfplayConfig(games_per_batch=8, full_search_prob=1.0),
            np.random.default_rng(seed))
        store.add(batch)
        seed += 1
    return store


def timed_steps(config: dict) -> float:
    """Samples/s of ``config['steps']`` train steps after a warm-up (plain or Ray Train)."""
    torch.set_num_threads(config["threads"])
    spec = NetSpec(config["board"], config["players"], config["preset"])
    cfg = TrainConfig(batch_size=config["batch"])
    net = PolicyValueNet(spec)
    if config["ray"]:
        net = ray.train.torch.prepare_model(net)
    opt, sched = make_optimizer(net, cfg)
    store, rng = config["store"], np.random.default_rng(0)
    t = 0.0
    for i in range(WARMUP + config["steps"]):
        start = time.perf_counter()
        batch = store.sample(cfg.batch_size)
        train_step(net, opt, sched, to_tensors(batch, rng, cfg.augment), cfg)
        if i >= WARMUP:
            t += time.perf_counter() - start
    rate = config["steps"] * cfg.batch_size / t
    if config["ray"]:  # Train V2 results carry no metrics without a checkpoint: use a file
        world = ray.train.get_context().get_world_size()
        rate *= world  # every rank trains batch_size samples per (synchronized) step
        if ray.train.get_context().get_world_rank() == 0:
            with open(config["out"], "w") as f:
                json.dump({"samples_per_s": rate}, f)
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="square8")
    ap.add_argument("--players", type=int, default=2)
    ap.add_argument("--preset", default="small")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, nargs="+", default=[1],
                    help="Ray Train (DDP, gloo) worker counts to time")
    args = ap.parse_args()
    config = {"board": args.board, "players": args.players, "preset": args.preset,
              "batch": args.batch, "steps": args.steps, "threads": args.threads,
              "store": make_store(args.board, args.players, 4 * args.batch), "ray": False}
    plain = timed_steps(config)

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=max(2, max(args.workers) * args.threads + 1), include_dashboard=False)
    in_ray, bar = {}, progress(len(args.workers), "train in Ray", "worker count")
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as storage:
            out = os.path.join(storage, "rate.json")
            TorchTrainer(
                timed_steps, train_loop_config={**config, "ray": True, "out": out},
                scaling_config=ScalingConfig(num_workers=workers,
                                             resources_per_worker={"CPU": args.threads}),
                run_config=RunConfig(name="bench_train", storage_path=storage)).fit()
            with open(out) as f:
                in_ray[workers] = round(json.load(f)["samples_per_s"], 1)
        bar.update()
    bar.close()
    ray.shutdown()
    print(json.dumps({"benchmark": "train", **{k: v for k, v in config.items()
                                               if k not in ("store", "ray")},
                      "plain_samples_per_s": round(plain, 1),
                      "ray_train_samples_per_s_by_workers": in_ray,
                      "ratio_1_worker": round(in_ray[1] / plain, 3) if 1 in in_ray else None},
                     indent=2))


if __name__ == "__main__":
    main()
