"""The ``ringrift-ray`` command line.

    ringrift-ray play --board hex8 --players 3 --seed 1 [--swap-rule] [--max-moves N] [--verbose]
    ringrift-ray bench rules [--seconds 10] [--boards square8 hex8] [--players 2] [--seed 0]
    ringrift-ray export SHARD_DIR --out FILE.npz [--board square8] [--players 2] [--skip-bad]
"""

from __future__ import annotations

import argparse
import logging
import sys

import numpy as np

from ringrift_ray.game import (
    BOARD_TYPES,
    apply_record_inplace,
    is_terminal,
    legal_move_records,
    move_to_text,
    new_game,
    ranks,
    render,
)
from ringrift_ray.game.records import record_to_move

log = logging.getLogger("ringrift_ray.cli")


def play(board_type: str, num_players: int, seed: int, swap_rule: bool = False,
         max_moves: int | None = None, verbose: bool = False) -> int:
    """Play one uniform-random game and print the final board, winner, reason and ranks.

    Returns:
        The number of moves applied.
    """
    rng = np.random.default_rng(seed)
    state = new_game(board_type, num_players, swap_rule=swap_rule)
    moves = 0
    while not is_terminal(state) and (max_moves is None or moves < max_moves):
        records = legal_move_records(state)
        rec = records[rng.integers(len(records))]
        if verbose:
            print(f"{moves + 1:5d}  {move_to_text(record_to_move(state, rec))}")
        apply_record_inplace(state, rec)
        moves += 1
    print(render(state))
    print(f"moves: {moves}")
    if is_terminal(state):
        print(f"winner: player {state.winner}" if state.winner else "winner: none")
        print(f"victory reason: {state.victory_reason}")
        order = sorted(ranks(state).items(), key=lambda pr: (pr[1], pr[0]))
        print("ranks: " + ", ".join(f"player {p} = {r}" for p, r in order))
    else:
        print(f"winner: none (game unfinished after {moves} moves, --max-moves)")
    return moves


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from ringrift_ray import bench_rules

    parser = argparse.ArgumentParser(prog="ringrift-ray", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("play", help="play one uniform-random game and print the result")
    p.add_argument("--board", choices=BOARD_TYPES, default="square8")
    p.add_argument("--players", type=int, choices=(2, 3, 4), default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--swap-rule", action="store_true", help="enable the 2-player pie rule")
    p.add_argument("--max-moves", type=_positive_int, default=None,
                   help="stop after this many moves")
    p.add_argument("--verbose", action="store_true", help="print every move")

    b = sub.add_parser("bench", help="benchmarks")
    bsub = b.add_subparsers(dest="bench", required=True)
    rules = bsub.add_parser("rules", help="rules-engine playout throughput (JSON on stdout)")
    bench_rules.add_arguments(rules)

    e = sub.add_parser("export", help="export Parquet replay shards to one NPZ (seed layout)")
    e.add_argument("shard_dir", metavar="SHARD_DIR", help="directory of *.parquet shards")
    e.add_argument("--out", required=True, metavar="FILE.npz", help="output NPZ path")
    e.add_argument("--board", choices=BOARD_TYPES, default="square8")
    e.add_argument("--players", type=int, choices=(2, 3, 4), default=2)
    e.add_argument("--skip-bad", action="store_true",
                   help="skip corrupt or foreign shards with a warning instead of failing")
    return parser


def export(shard_dir: str, out: str, board_type: str, num_players: int,
           skip_bad: bool = False) -> int:
    """Export every matching shard of ``shard_dir`` to ``out`` and print a summary.

    Returns:
        The number of samples written.

    Raises:
        FileNotFoundError: ``shard_dir`` is missing.
        ValueError: no shard matches, or a bad shard without ``skip_bad``.
    """
    from ringrift_ray import replay

    on_error = "skip" if skip_bad else "raise"
    n = replay.export_directory(shard_dir, out, board_type, num_players, on_error=on_error)
    print(f"exported {n} {board_type} {num_players}p samples to {out}")
    return n


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "play":
        if args.swap_rule and args.players != 2:
            parser.error("--swap-rule needs --players 2 (the pie rule is 2-player only)")
        play(args.board, args.players, args.seed, args.swap_rule, args.max_moves, args.verbose)
    elif args.command == "bench":
        from ringrift_ray import bench_rules

        bench_rules.run_from_args(args)
    elif args.command == "export":
        try:
            export(args.shard_dir, args.out, args.board, args.players, args.skip_bad)
        except (FileNotFoundError, ValueError) as e:
            print(f"ringrift-ray export: error: {e}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
