"""Rules-engine throughput: uniform-random playouts on one core, at three levels.

| level        | loop                                                          |
|--------------|---------------------------------------------------------------|
| `kernel`     | ``playout_kernel``: generation, choice and application all compiled |
| `python_api` | Python loop over ``legal_move_records`` + ``apply_record_inplace`` |
| `validated`  | Python loop over ``legal_moves`` + ``apply_move`` (Move objects, pure) |

Every applied move counts, bookkeeping moves (``no_line_action``, ...) included. Kernel
timings split generation from application by replaying each game's recorded moves with
``replay_kernel``: ``apply_us`` = replay time / moves, ``legal_us`` = (playout time - replay
time) / moves. The reference is the TypeScript-port Python engine, 2 players.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time

import numba
import numpy as np

from ringrift_ray.cli.progress import progress
from ringrift_ray.game import (
    BOARD_TYPES,
    apply_move,
    apply_record_inplace,
    is_terminal,
    legal_move_records,
    legal_moves,
    new_game,
    playout_kernel,
    replay_kernel,
    work_buffer,
)
from ringrift_ray.game import constants as K

log = logging.getLogger(__name__)

REFERENCE_MOVES_PER_S = {"square8": 383.0, "hex8": 317.0, "square19": 71.0, "hexagonal": 57.0}
"""Moves/s of the reference Python engine, uniform-random 2-player playouts."""
TARGET_SPEEDUP = 100.0
MAX_GAME_MOVES = 100_000
# share of each board's time budget per level
BUDGET_SHARE = {"kernel": 0.5, "python_api": 0.3, "validated": 0.2}


def _state_arrays(s):
    return s.rings, s.height, s.marker, s.collapsed, s.order, s.meta


def bench_kernel(board_type: str, num_players: int, seconds: float, seed: int) -> dict:
    """Compiled playouts for ``seconds`` (at least one game); per-game seeds ``seed + i``."""
    init = new_game(board_type, num_players)
    b = init.board
    geo = (b.step, b.tadj, b.border_adj)
    out, scratch = work_buffer(), work_buffer()
    trace = np.empty((MAX_GAME_MOVES, K.MOVE_WIDTH), dtype=np.int32)
    playout_kernel(*geo, *_state_arrays(init.copy()), seed, 1, out, scratch, trace)  # compile
    replay_kernel(*geo, *_state_arrays(init.copy()), trace, 0, scratch)
    games = moves = unfinished = mismatches = 0
    t_play = t_replay = 0.0
    while games == 0 or t_play + t_replay < seconds:
        s = init.copy()
        t0 = time.perf_counter()
        n = playout_kernel(*geo, *_state_arrays(s), seed + games, MAX_GAME_MOVES, out, scratch,
                           trace)
        t1 = time.perf_counter()
        r = init.copy()
        replay_kernel(*geo, *_state_arrays(r), trace, n, scratch)
        t2 = time.perf_counter()
        t_play += t1 - t0
        t_replay += t2 - t1
        games += 1
        moves += n
        unfinished += not is_terminal(s)
        mismatches += not all(np.array_equal(x, y) for x, y in
                              zip(_state_arrays(s), _state_arrays(r), strict=True))
    if mismatches:
        log.warning("%s: %d replays did not reproduce their playout", board_type, mismatches)
    return {
        "games": games,
        "moves": moves,
        "unfinished_games": unfinished,
        "replay_mismatches": mismatches,
        "seconds": t_play,
        "games_per_s": games / t_play,
        "moves_per_s": moves / t_play,
        "mean_moves_per_game": moves / games,
        "legal_us": max(t_play - t_replay, 0.0) / moves * 1e6,
        "apply_us": t_replay / moves * 1e6,
    }


def bench_python_api(board_type: str, num_players: int, seconds: float, seed: int) -> dict:
    """``legal_move_records`` + ``apply_record_inplace`` loop; stops mid-game on time."""
    init = new_game(board_type, num_players)
    rng = np.random.default_rng(seed)
    s = init.copy()
    apply_record_inplace(s, legal_move_records(s)[0])  # compile / load both kernels
    s = init.copy()
    games = moves = 0
    t_legal = t_apply = 0.0
    start = time.perf_counter()
    while moves == 0 or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        recs = legal_move_records(s)
        t1 = time.perf_counter()
        apply_record_inplace(s, recs[rng.integers(len(recs))])
        t2 = time.perf_counter()
        t_legal += t1 - t0
        t_apply += t2 - t1
        moves += 1
        if is_terminal(s):
            games += 1
            s = init.copy()
    elapsed = time.perf_counter() - start
    return {
        "games": games,
        "moves": moves,
        "seconds": elapsed,
        "moves_per_s": moves / elapsed,
        "legal_us": t_legal / moves * 1e6,
        "apply_us": t_apply / moves * 1e6,
    }


def bench_validated(board_type: str, num_players: int, seconds: float, seed: int) -> dict:
    """``legal_moves`` (Move objects) + validated, pure ``apply_move`` loop."""
    init = new_game(board_type, num_players)
    rng = np.random.default_rng(seed)
    s = init
    moves = 0
    t_legal = t_apply = 0.0
    start = time.perf_counter()
    while moves == 0 or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        legal = legal_moves(s)
        t1 = time.perf_counter()
        s = apply_move(s, legal[rng.integers(len(legal))])
        t2 = time.perf_counter()
        t_legal += t1 - t0
        t_apply += t2 - t1
        moves += 1
        if is_terminal(s):
            s = init
    elapsed = time.perf_counter() - start
    return {
        "moves": moves,
        "seconds": elapsed,
        "moves_per_s": moves / elapsed,
        "legal_moves_us": t_legal / moves * 1e6,
        "apply_move_us": t_apply / moves * 1e6,
    }


def bench_board(board_type: str, num_players: int, seconds: float, seed: int) -> dict:
    """All three levels on one board, ``seconds`` split by ``BUDGET_SHARE``."""
    kernel = bench_kernel(board_type, num_players, seconds * BUDGET_SHARE["kernel"], seed)
    api = bench_python_api(board_type, num_players, seconds * BUDGET_SHARE["python_api"], seed)
    validated = bench_validated(board_type, num_players, seconds * BUDGET_SHARE["validated"],
                                seed)
    ref = REFERENCE_MOVES_PER_S[board_type] if num_players == 2 else None
    result = {
        "kernel": kernel,
        "python_api": api,
        "validated": validated,
        "reference_moves_per_s": ref,
        "speedup_kernel": kernel["moves_per_s"] / ref if ref else None,
        "speedup_python_api": api["moves_per_s"] / ref if ref else None,
        "speedup_validated": validated["moves_per_s"] / ref if ref else None,
    }
    result["meets_target"] = (result["speedup_kernel"] >= TARGET_SPEEDUP) if ref else None
    return result


def run(boards: list[str], num_players: int = 2, seconds: float = 10.0, seed: int = 0) -> dict:
    """Benchmark ``boards``; ``seconds`` is each board's budget. Returns a JSON-able dict."""
    out = {
        "benchmark": "rules/uniform_random_playouts",
        "num_players": num_players,
        "seconds_per_board": seconds,
        "seed": seed,
        "threads": 1,
        "target_speedup": TARGET_SPEEDUP,
        "reference": "reference Python engine, 2 players, moves/s",
        "machine": {
            "python": platform.python_version(),
            "numba": numba.__version__,
            "numpy": np.__version__,
            "cpu": _cpu_name(),
        },
        "boards": {},
    }
    with progress(len(boards), f"rules {num_players}p", "board") as bar:
        for name in boards:
            bar.set_postfix(board=name)
            out["boards"][name] = bench_board(name, num_players, seconds, seed)
            bar.update()
    return out


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def to_markdown(result: dict) -> str:
    """The result as a markdown table, one row per board."""
    rows = [
        "| board | moves/s kernel | moves/s python API | moves/s validated | games/s (kernel) "
        "| moves/game | µs legal_moves (kernel / API / validated) "
        "| µs apply (kernel / API / validated) | speedup vs reference (kernel / API / validated) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in result["boards"].items():
        k, a, v = r["kernel"], r["python_api"], r["validated"]
        if r["reference_moves_per_s"]:
            speed = (f"{r['speedup_kernel']:,.0f}x / {r['speedup_python_api']:,.1f}x / "
                     f"{r['speedup_validated']:,.1f}x (ref {r['reference_moves_per_s']:g} moves/s)")
        else:
            speed = "n/a (reference is 2p)"
        rows.append(
            f"| {name} | {k['moves_per_s']:,.0f} | {a['moves_per_s']:,.0f} "
            f"| {v['moves_per_s']:,.0f} | {k['games_per_s']:,.1f} "
            f"| {k['mean_moves_per_game']:,.0f} "
            f"| {k['legal_us']:.1f} / {a['legal_us']:.1f} / {v['legal_moves_us']:.0f} "
            f"| {k['apply_us']:.1f} / {a['apply_us']:.1f} / {v['apply_move_us']:.0f} "
            f"| {speed} |"
        )
    return "\n".join(rows)


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's command-line flags (shared by ``ringrift-ray bench rules``)."""
    parser.add_argument("--seconds", type=_positive_float, default=10.0,
                        help="time budget per board, split kernel/API/validated 5:3:2")
    parser.add_argument("--boards", nargs="+", choices=BOARD_TYPES, default=list(BOARD_TYPES),
                        help="boards to benchmark")
    parser.add_argument("--players", type=int, choices=(2, 3, 4), default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", metavar="PATH",
                        help="also write the results as a markdown table to PATH")


def run_from_args(args: argparse.Namespace) -> dict:
    """Run with parsed flags, print the JSON result, optionally write the markdown table."""
    result = run(args.boards, args.players, args.seconds, args.seed)
    print(json.dumps(result, indent=2))
    if args.markdown:
        with open(os.path.expanduser(args.markdown), "w") as f:
            f.write(to_markdown(result) + "\n")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    main()
