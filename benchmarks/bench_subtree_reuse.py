"""Subtree reuse at equal simulations (JSON): one network, two agents on the compiled tree
that differ only in ``SearchConfig.subtree_reuse`` (`eval.forest_agent.forest_act`), a
match with seats alternating; reuse-on's score (agent 0) with its Wilson 95% interval, how often a
decision started from a reused subtree and with how many visits, and each side's seconds per
decision (measured in the same match, so both sides see the same machine load).

"Equal simulations": both sides run ``--sims`` new simulations (network evaluations) per
decision; a reused subtree's visits come on top (`search.reuse`). A *decision* is a move
the agent is asked for (`play_match` applies forced moves itself).

    python benchmarks/bench_subtree_reuse.py runs/x/checkpoints/latest.pt --sims 64 \\
        --games 200 --out benchmarks/subtree_reuse_cpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import torch

from ringrift_ray.config import SearchConfig
from ringrift_ray.eval.forest_agent import ForestStats, forest_act
from ringrift_ray.eval.matches import Agent, play_match
from ringrift_ray.inference import Inference
from ringrift_ray.net import load_checkpoint
from ringrift_ray.search.game_fns import network_evaluate


def reuse_match(checkpoint: str, sims: int, games: int, seed: int, concurrency: int,
                backend: str, considered: int, control: int | None = None) -> dict:
    """The match (reuse on = agent 0) and its figures; with ``control``, agent 0 is instead
    a fresh search at ``control`` simulations (what extra visits are worth to the net)."""
    net, _ = load_checkpoint(checkpoint)
    spec = net.spec
    evaluate = network_evaluate(Inference(net, backend, "cpu", torch.get_num_threads()))
    base = SearchConfig(num_simulations=sims, max_num_considered_actions=considered)
    stats = {"reuse": ForestStats(), "fresh": ForestStats()}  # "reuse": agent 0
    subject = base.model_copy(update={"subtree_reuse": True} if control is None else
                              {"num_simulations": control})
    agents = [Agent(f"reuse@{sims}" if control is None else f"fresh@{control}",
                    forest_act(evaluate, spec.players, subject, stats["reuse"])),
              Agent(f"fresh@{sims}", forest_act(evaluate, spec.players, base, stats["fresh"]))]
    t0 = time.perf_counter()
    result = play_match(agents, spec.board, spec.players, games, seed, concurrency=concurrency)
    lo, hi = result.interval
    return {
        "board": spec.board, "players": spec.players, "preset": spec.preset,
        "simulations": sims, "max_num_considered_actions": considered, "games": games,
        "control_sims": control,
        "score_reuse_on" if control is None else "score_agent0": result.win_rate,
        "wilson95": [lo, hi],
        "wall_s": time.perf_counter() - t0, "summary": result.summary(),
        "sides": {name: {"decisions": s.decisions, "reused": s.reused,
                         "reused_fraction": s.reused / max(s.decisions, 1),
                         "mean_reused_visits": s.reused_visits / max(s.reused, 1),
                         "s_per_decision": s.seconds / max(s.decisions, 1)}
                  for name, s in stats.items()},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("--sims", type=int, default=64)
    p.add_argument("--considered", type=int, default=16,
                   help="max_num_considered_actions (SearchConfig default 16)")
    p.add_argument("--games", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--backend", default="auto", help="inference backend (auto: ONNX Runtime)")
    p.add_argument("--threads", type=int, default=1, help="torch / inference threads")
    p.add_argument("--control", type=int, help="agent 0 = a fresh search at this many "
                   "simulations instead of reuse (is a bigger budget worth anything?)")
    p.add_argument("--note", default="", help="what the checkpoint is, for the JSON")
    p.add_argument("--out")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    out = {"command": "python " + " ".join(sys.argv), "machine": platform.node(),
           "cpus": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d %H:%M"),
           "checkpoint": args.checkpoint, "note": args.note,
           **reuse_match(args.checkpoint, args.sims, args.games, args.seed, args.concurrency,
                         args.backend, args.considered, args.control)}
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
