"""Selfplay throughput of one worker (JSON): games/s, positions/s (all moves), samples/s.

    python benchmarks/bench_selfplay.py --board square8 --players 2 --preset small --sims 32
"""

import argparse
import json
import time

import numpy as np
import torch

from ringrift_ray.config import GameConfig, SearchConfig, SelfplayConfig
from ringrift_ray.net import NetSpec, PolicyValueNet, infer
from ringrift_ray.search_fns import network_evaluate
from ringrift_ray.selfplay import play_games


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="square8")
    ap.add_argument("--players", type=int, default=2)
    ap.add_argument("--preset", default="small")
    ap.add_argument("--sims", type=int, default=32)
    ap.add_argument("--games", type=int, default=16, help="games per batch")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    net = PolicyValueNet(NetSpec(args.board, args.players, args.preset)).eval()
    evaluate = network_evaluate(lambda obs: infer(net, obs))
    cfg = SelfplayConfig(games_per_batch=args.games)
    play_games(
        GameConfig(board=args.board, players=args.players), evaluate,
        SearchConfig(num_simulations=2),
        SelfplayConfig(games_per_batch=1), np.random.default_rng(1))  # warm up
    t = time.perf_counter()
    batch, stats = play_games(
        GameConfig(board=args.board, players=args.players), evaluate,
        SearchConfig(num_simulations=args.sims), cfg,
        np.random.default_rng(0))
    wall = time.perf_counter() - t
    print(json.dumps({
        "benchmark": "selfplay", "board": args.board, "players": args.players,
        "preset": args.preset, "num_simulations": args.sims, "games_per_batch": args.games,
        "torch_threads": args.threads, "wall_s": round(wall, 2),
        "games_per_s": round(stats.games / wall, 3),
        "positions_per_s": round(stats.moves / wall, 1),
        "searched_moves_per_s": round(stats.searched_moves / wall, 1),
        "samples_per_s": round(stats.samples / wall, 2),
        "nn_batch_fill": round(stats.nn_batch_fill / args.games, 3),
        "bytes_per_sample": round(batch.nbytes() / max(len(batch), 1), 1),
    }, indent=2))


if __name__ == "__main__":
    main()
