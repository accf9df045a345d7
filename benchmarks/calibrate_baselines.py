"""Calibrate the baselines (JSON): each ``uct:N`` and ``minimax:D`` against random and the
heuristic, and each uct against each minimax deeper than one ply, with Wilson 95% intervals
(`MatchResult.interval`), mean ranks and seconds per decision.

A *decision* is a move the agent is asked for (`play_match` applies forced moves itself),
so seconds per decision is the agent's thinking time per real choice. The pairings run one
after another, or on ``--workers`` processes (one pairing each); timings are only
comparable between runs on an otherwise idle machine.

    python benchmarks/calibrate_baselines.py --games 200 --uct 50 200 --minimax 1 2 \\
        --out benchmarks/baselines_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from ringrift_ray.eval.baselines import agent_from_spec
from ringrift_ray.eval.matches import Agent, play_match


def timed(agent: Agent, clock: dict) -> Agent:
    """``agent`` that adds its thinking seconds and decisions to ``clock``."""

    def act(states, rng):
        t0 = time.perf_counter()
        out = agent.act(states, rng)
        clock["seconds"] += time.perf_counter() - t0
        clock["decisions"] += len(states)
        return out

    return Agent(agent.name, act)


def pairings(uct: list[int], minimax: list[int], extra: list[str]) -> list[tuple[str, str]]:
    """Every baseline against random and the heuristic, every uct against every minimax
    deeper than 1 (``minimax:1`` is the heuristic's greedy player), then the ``A,B`` pairs
    of ``extra``."""
    specs = [f"uct:{n}" for n in uct] + [f"minimax:{d}" for d in minimax]
    out = [(s, opp) for s in specs for opp in ("random", "heuristic")]
    out += [(f"uct:{n}", f"minimax:{d}") for n in uct for d in minimax if d > 1]
    out += [tuple(p.split(",", 1)) for p in extra]
    return out


def play_pair(pair: tuple[str, str], board: str, players: int, games: int, seed: int,
              max_moves: int) -> dict:
    """One pairing's match summary plus each side's seconds per decision."""
    clocks = [{"seconds": 0.0, "decisions": 0} for _ in pair]
    agents = [timed(agent_from_spec(s, board, players), c) for s, c in zip(pair, clocks,
                                                                          strict=True)]
    t0 = time.perf_counter()
    result = play_match(agents, board, players, games, seed, max_moves=max_moves)
    wall = time.perf_counter() - t0
    s = result.summary()
    row = {"a": pair[0], "b": pair[1], "games": s["games"], "win_rate": round(s["win_rate"], 4),
           "interval": [round(v, 4) for v in s["interval"]], "mean_rank": round(s["mean_rank"], 4),
           "chance": s["chance"], "capped": s["capped"],
           "mean_moves": sum(g.moves for g in result.games) / max(len(result.games), 1),
           "s_per_decision": {name: round(c["seconds"] / max(c["decisions"], 1), 5)
                              for name, c in zip(pair, clocks, strict=True)},
           "wall_s": round(wall, 1)}
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="square8")
    ap.add_argument("--players", type=int, default=2)
    ap.add_argument("--games", type=int, default=200)
    ap.add_argument("--uct", type=int, nargs="*", default=[50, 200], help="simulation counts")
    ap.add_argument("--minimax", type=int, nargs="*", default=[1, 2], help="depths")
    ap.add_argument("--pair", action="append", default=[], metavar="A,B",
                    help="an extra pairing (agent specs), repeatable")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-moves", type=int, default=2000, help="move cap (a draw)")
    ap.add_argument("--workers", type=int, default=1, help="pairings played at once")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args()
    pairs = pairings(args.uct, args.minimax, args.pair)
    call = (args.board, args.players, args.games, args.seed, args.max_moves)
    t0 = time.perf_counter()
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            rows = list(pool.map(play_pair, pairs, *[[v] * len(pairs) for v in call]))
    else:
        rows = [play_pair(p, *call) for p in pairs]
    report = {"benchmark": "calibrate_baselines", "board": args.board,
              "players": args.players, "games_per_pair": args.games, "seed": args.seed,
              "max_moves": args.max_moves, "cpus": os.cpu_count(),
              "machine": platform.processor() or platform.machine(),
              "load_avg_at_end": list(os.getloadavg()),
              "wall_s": round(time.perf_counter() - t0, 1),
              "command": "python " + " ".join(sys.argv), "pairs": rows}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
