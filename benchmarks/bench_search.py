"""Search throughput benchmark (JSON): simulations/s and network evaluations/s of batched
Gumbel search on RingRift, the split of wall time between network, rules and tree, and the
same network's standalone batched inference rate.

    python benchmarks/bench_search.py --board square8 --presets tiny small --batches 1 32 128

``--null-net`` measures the search alone: uniform logits and zero values from preallocated
arrays (no network, no encoding), tree + rules microseconds per simulated leaf of the
compiled search (``us_per_leaf``) and of the Python tree beside it (``us_per_leaf_python``),
in CPU time of the searching thread (robust to other work on a shared machine; process CPU
and wall figures beside), square8 and hexagonal, B = 256, 16 and 64 simulations by default:

    python benchmarks/bench_search.py --null-net
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from ringrift_ray.config import SearchConfig
from ringrift_ray.encoding import encode, num_actions
from ringrift_ray.game import apply_record_inplace, is_terminal, legal_move_records, new_game
from ringrift_ray.inference import BACKENDS, Inference
from ringrift_ray.net import NetSpec, PolicyValueNet
from ringrift_ray.search.batched import batched_search, new_forest
from ringrift_ray.search.game_fns import game_fns, network_evaluate
from ringrift_ray.search.game_kernels import compiled_game
from ringrift_ray.search.gumbel import GameFns, gumbel_search


def _midgame_states(board_type: str, players: int, count: int, seed: int) -> list:
    """Positions after 10-40 uniform random moves with a real decision (2+ legal moves)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        s = new_game(board_type, players)
        for _ in range(int(rng.integers(10, 40))):
            r = legal_move_records(s)
            apply_record_inplace(s, r[rng.integers(len(r))])
            if is_terminal(s):
                break
        if not is_terminal(s) and len(legal_move_records(s)) > 1:
            out.append(s)
    return out


def _timed(fn, bucket: list):
    def wrapped(*args):
        t = time.perf_counter()
        try:
            return fn(*args)
        finally:
            bucket[0] += time.perf_counter() - t
    return wrapped


def standalone_rate(net, states, repeats: int = 3) -> tuple[float, float]:
    """Evaluations per wall second and per CPU second of this process of encode + inference
    alone (``net``: obs -> outputs), on the same batch."""
    obs = encode(states)
    net(obs)
    t, c = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        net(encode(states))
    n = repeats * len(states)
    return n / (time.perf_counter() - t), n / max(time.process_time() - c, 1e-9)


def bench_one(board_type: str, players: int, preset: str, batch: int, sims: int,
              seed: int, backend: str = "torch", device: str = "cpu",
              pipeline: bool = False) -> dict:
    torch.manual_seed(seed)
    net = Inference(PolicyValueNet(NetSpec(board_type, players, preset)), backend, device,
                    torch.get_num_threads())
    roots = _midgame_states(board_type, players, batch, seed)
    net_t, rules_t = [0.0], [0.0]
    calls = [0]

    def infer_fn(obs):
        calls[0] += obs.shape[0]
        return net(obs)

    evaluate = _timed(network_evaluate(infer_fn), net_t)
    g = game_fns(players)
    timed_game = GameFns(players, _timed(g.legal_actions, rules_t), _timed(g.apply, rules_t),
                         g.to_play, _timed(g.terminal_values, rules_t))
    cfg = SearchConfig(num_simulations=sims)
    # warm up on the same roots: numba compiles engine and tree kernels lazily, on the first
    # positions that need them; selfplay's steady state never pays that again
    gumbel_search(roots, g, network_evaluate(net), cfg, np.random.default_rng(seed + 1))
    t, c = time.perf_counter(), time.process_time()
    gumbel_search(roots, timed_game, evaluate, cfg, np.random.default_rng(seed), pipeline=pipeline)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    standalone, standalone_cpu = standalone_rate(net, roots)
    in_search = calls[0] / wall
    return {
        "board": board_type, "players": players, "preset": preset, "batch": batch,
        "backend": net.backend, "device": device, "pipeline": pipeline,
        "num_simulations": sims, "wall_s": round(wall, 3),
        "simulations_per_s": round(batch * sims / wall, 1),
        "net_evals_per_s": round(in_search, 1),
        "standalone_evals_per_s": round(standalone, 1),
        "efficiency": round(in_search / standalone, 3),
        # per CPU second of this process: robust to other processes on a shared machine
        # (one thread; a GPU's work is not counted, so use the wall-clock ratio there)
        "efficiency_cpu": round(calls[0] / cpu / standalone_cpu, 3),
        # fractions of wall time: the network thread busy / idle, and the rules (partly
        # during the network call: the leaves' legal actions are generated alongside it)
        "time_split": {"net": round(net_t[0] / wall, 3),
                       "net_idle": round(1 - net_t[0] / wall, 3),
                       "rules": round(rules_t[0] / wall, 3)},
    }


def _null_search(board_type: str, players: int, batch: int, sims: int, seed: int,
                 compiled: bool, repeats: int) -> dict:
    """Tree + rules time per simulated leaf of a search of ``batch`` midgame roots with a
    null network (median of ``repeats`` searches), after a warm-up search of the same roots
    (steady state: compiled kernels loaded, the compiled forest's memory touched once, as in
    continuous selfplay)."""
    roots = _midgame_states(board_type, players, batch, seed)
    logits = np.zeros((batch, num_actions(board_type)), dtype=np.float32)
    values = np.zeros((batch, players), dtype=np.float32)
    net_t = [0.0]

    def null(*args):  # (states) for the Python tree, (pool, rows) for the compiled one
        n = len(args[-1])
        return logits[:n], values[:n]

    cfg = SearchConfig(num_simulations=sims)
    if compiled:
        game = compiled_game(board_type, players)
        forest = new_forest(game, batch, sims, cfg)
        run = lambda: batched_search(roots, game, _timed(null, net_t), cfg,  # noqa: E731
                                     np.random.default_rng(seed), forest=forest)
    else:
        run = lambda: gumbel_search(roots, game_fns(players), _timed(null, net_t),  # noqa: E731
                                    cfg, np.random.default_rng(seed))
    run()
    times = []
    for _ in range(repeats):
        net_t[0] = 0.0
        t, c, th = time.perf_counter(), time.process_time(), time.thread_time()
        run()
        times.append((time.thread_time() - th, time.process_time() - c - net_t[0],
                      time.perf_counter() - t - net_t[0]))
    us = np.median(np.array(times), axis=0) / (batch * sims) * 1e6
    return {"us_per_leaf": round(us[0], 2), "process_us_per_leaf": round(us[1], 2),
            "wall_us_per_leaf": round(us[2], 2)}


def null_net(boards: list[str], players: int, batch: int, sims_list: list[int],
             seed: int, repeats: int = 3) -> dict:
    """The ``--null-net`` JSON: one row per board and budget, the headline (first row) on
    top."""
    rows = []
    for board_type in boards:
        for sims in sims_list:
            new = _null_search(board_type, players, batch, sims, seed, True, repeats)
            old = _null_search(board_type, players, batch, sims, seed, False, repeats)
            rows.append({"board": board_type, "players": players, "batch": batch,
                         "num_simulations": sims, "us_per_leaf": new["us_per_leaf"],
                         "us_per_leaf_python": old["us_per_leaf"],
                         "speedup": round(old["us_per_leaf"] / new["us_per_leaf"], 2),
                         **{f"{k}{tag}": run[k] for tag, run in (("", new), ("_python", old))
                            for k in ("process_us_per_leaf", "wall_us_per_leaf")}})
    return {"benchmark": "search_null_net", "us_per_leaf": rows[0]["us_per_leaf"],
            "us_per_leaf_python": rows[0]["us_per_leaf_python"],
            "headline": {k: rows[0][k] for k in ("board", "players", "batch",
                                                  "num_simulations")},
            "clock": "us_per_leaf: CPU seconds of the searching thread (tree + rules run "
                     "there; the null network runs on search.network_thread), per simulated "
                     "leaf; process CPU and wall clock (minus the null network) beside it; "
                     "medians of `repeats` searches",
            "repeats": repeats,
            "results": rows}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="square8")
    ap.add_argument("--players", type=int, default=2)
    ap.add_argument("--presets", nargs="+", default=["tiny", "small"])
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 8, 32, 128, 512])
    ap.add_argument("--sims", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--backend", choices=BACKENDS, default="torch",
                    help="inference backend (ringrift_ray/inference.py)")
    ap.add_argument("--pipeline", action="store_true",
                    help="search the batch as two alternating halves (gumbel_search pipeline)")
    ap.add_argument("--null-net", action="store_true",
                    help="tree + rules time per leaf with a null network, compiled vs Python")
    ap.add_argument("--null-boards", nargs="+", default=["square8", "hexagonal"])
    ap.add_argument("--null-batch", type=int, default=256)
    ap.add_argument("--null-sims", nargs="+", type=int, default=[16, 64])
    ap.add_argument("--null-repeats", type=int, default=3, help="timed searches per figure")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.null_net:
        print(json.dumps(null_net(args.null_boards, args.players, args.null_batch,
                                  args.null_sims, args.seed, args.null_repeats), indent=2))
        return
    rows = [bench_one(args.board, args.players, p, b, args.sims, args.seed, args.backend,
                      args.device, args.pipeline)
            for p in args.presets for b in args.batches]
    print(json.dumps({"benchmark": "search", "torch_threads": args.threads, "results": rows},
                     indent=2))


if __name__ == "__main__":
    main()
