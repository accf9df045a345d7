"""Selfplay throughput of one worker (JSON): searched moves/s, simulations/s, batch fill.

    python benchmarks/bench_selfplay.py --board square8 --players 2 --preset compact --sims 16

``--mode continuous`` (default) measures the worker's steady state: game slots that keep
playing (`selfplay.play_steps`); one warm-up interval of ``--games`` finished games, then
``--intervals`` measured ones (or, with ``--seconds``, one warm-up and one measured interval
of that many seconds each: for many slots or long games). ``--mode batch`` times
`selfplay.play_games` (one batch of ``--games`` games played to the end, the network batch
shrinking as games finish).
"""

import argparse
import json
import time

import numpy as np
import torch

import ringrift_ray
from ringrift_ray.config import GameConfig, SearchConfig, SelfplayConfig
from ringrift_ray.inference import BACKENDS, Inference
from ringrift_ray.net import NetSpec, PolicyValueNet
from ringrift_ray.search.game_fns import network_evaluate
from ringrift_ray.selfplay import SelfplayStats, play_games


def _measure(args, game, evaluate, search, cfg) -> tuple[SelfplayStats, float, float, int]:
    """(summed stats, wall seconds, CPU seconds, samples bytes) of the measured part."""
    rng = np.random.default_rng(0)
    if args.mode == "batch":  # also runs on the old tree (before continuous selfplay)
        t, c = time.perf_counter(), time.process_time()
        batch, stats = play_games(game, evaluate, search, cfg, rng)
        return stats, time.perf_counter() - t, time.process_time() - c, batch.nbytes()
    from ringrift_ray.selfplay import new_run, play_steps

    run = new_run(game, search, cfg)
    timed = {} if args.seconds is None else {"min_games": 10**9, "max_seconds": args.seconds}
    play_steps(run, evaluate, rng, **timed)  # ramp up: every slot busy from here on
    total, nbytes = SelfplayStats(), 0
    t, c = time.perf_counter(), time.process_time()
    for _ in range(args.intervals if args.seconds is None else 1):
        batch, stats = play_steps(run, evaluate, rng, **timed)
        nbytes += batch.nbytes()
        for key in ("games", "moves", "searched_moves", "simulations", "samples",
                    "net_batches", "net_positions"):
            setattr(total, key, getattr(total, key) + getattr(stats, key))
    return total, time.perf_counter() - t, time.process_time() - c, nbytes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="square8")
    ap.add_argument("--players", type=int, default=2)
    ap.add_argument("--preset", default="compact")
    ap.add_argument("--sims", type=int, default=16)
    ap.add_argument("--games", type=int, default=16, help="game slots (games per batch)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mode", choices=("continuous", "batch"), default="continuous")
    ap.add_argument("--intervals", type=int, default=2,
                    help="measured intervals of --games finished games (continuous)")
    ap.add_argument("--seconds", type=float, default=None,
                    help="continuous: warm up and measure this many seconds instead")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--backend", choices=BACKENDS, default="torch",
                    help="inference backend (ringrift_ray/inference.py)")
    ap.add_argument("--pipeline", action="store_true",
                    help="selfplay.pipeline: two halves of the slots alternate their steps")
    ap.add_argument("--tree", choices=("compiled", "python"), default=None,
                    help="search.tree (default: the config's default; older trees lack it)")
    args = ap.parse_args()
    tree = {} if args.tree is None else {"tree": args.tree}
    torch.set_num_threads(args.threads)
    inference = Inference(PolicyValueNet(NetSpec(args.board, args.players, args.preset)),
                          args.backend, args.device, args.threads)
    evaluate = network_evaluate(inference)
    game = GameConfig(board=args.board, players=args.players)
    play_games(game, evaluate, SearchConfig(num_simulations=2, **tree),
               SelfplayConfig(games_per_batch=1), np.random.default_rng(1))  # warm up
    pipeline = {"pipeline": True} if args.pipeline else {}  # the old tree has no such field
    per_call = (args.games + 1) // 2 if args.pipeline else args.games  # slots per network call
    stats, wall, cpu, nbytes = _measure(args, game, evaluate,
                                        SearchConfig(num_simulations=args.sims, **tree),
                                        SelfplayConfig(games_per_batch=args.games,
                                                       **pipeline))
    print(json.dumps({
        "benchmark": "selfplay", "mode": args.mode, "board": args.board,
        "players": args.players, "preset": args.preset, "num_simulations": args.sims,
        "games_per_batch": args.games, "pipeline": args.pipeline, "tree": args.tree,
        "torch_threads": args.threads, "device": args.device,
        "backend": inference.backend, "seconds": args.seconds, "wall_s": round(wall, 2),
        "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None,
        "cpu_s": round(cpu, 2), "library": ringrift_ray.__file__,
        "games_per_s": round(stats.games / wall, 3),
        "positions_per_s": round(stats.moves / wall, 1),
        "searched_moves_per_s": round(stats.searched_moves / wall, 1),
        "searched_moves_per_cpu_s": round(stats.searched_moves / cpu, 1),
        "simulations_per_s": round(getattr(stats, "simulations", 0) / wall, 1),
        "net_evals_per_s": round(stats.net_positions / wall, 1),
        "samples_per_s": round(stats.samples / wall, 2),
        "nn_batch_fill": round(stats.nn_batch_fill / per_call, 3),
        "bytes_per_sample": round(nbytes / max(stats.samples, 1), 1),
    }, indent=2))


if __name__ == "__main__":
    main()
