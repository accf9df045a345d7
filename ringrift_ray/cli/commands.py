"""The ``ringrift-ray`` command line.

    ringrift-ray play --board hex8 --players 3 --seed 1 [--swap-rule] [--max-moves N] [--verbose]
    ringrift-ray export SHARD_DIR --out FILE.npz [--board square8] [--players 2] [--skip-bad]
    ringrift-ray export MODEL.pt --format onnx|torchscript --out FILE (prints its metadata)
    ringrift-ray show --out game.html|pos.svg|pos.png [--board hex8 --players 3 --seed 1]
                      [--state state.json | --moves moves.txt] [--max-moves N]
    ringrift-ray match A B [--board square8] [--players 2] [--games 200] [--seed 0] [--sims N]
                       (A, B: random | heuristic | uct:N | minimax:D | CHECKPOINT[:SIMS];
                        3-4 players: A at one seat, rotated, B at the others)
    ringrift-ray show RUN_DIR [--game N [--candidate vV] --out game.html]  (evaluation games)
    ringrift-ray elo RUN_DIR [--out elo.png]  (league table; Elo and loss curves)
    ringrift-ray pretrain --source shards:DIR|traces:PATH|heuristic:GAMES --out warm.pt
                          [--board square8] [--players 2] [--preset compact] [--steps 2000]
    ringrift-ray serve CHECKPOINT[:SIMS] ... [--port 8000] [--replicas N] [--gpus G]
                       (the move service on Ray Serve: runs ``python -m experiments.serve``)

Arguments are parsed here; ``show`` and ``elo`` run in ``views.py``, the others here.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from ringrift_ray import pretrain as warm
from ringrift_ray import serving
from ringrift_ray.cli import serve as serve_cli
from ringrift_ray.cli import views
from ringrift_ray.cli.progress import progress
from ringrift_ray.eval import agent_from_spec, play_match
from ringrift_ray.game import (
    BOARD_TYPES,
    apply_record_inplace,
    is_terminal,
    legal_move_records,
    move_to_text,
    new_game,
    ranks,
    record_to_move,
    render,
)
from ringrift_ray.replay import npz

log = logging.getLogger("ringrift_ray.cli.commands")


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
    parser = argparse.ArgumentParser(prog="ringrift-ray", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _add_play(sub)
    _add_export(sub)
    _add_show(sub)
    _add_match(sub)
    _add_elo(sub)
    _add_pretrain(sub)
    serve_cli.add_parser(sub)
    return parser


def _add_play(sub) -> None:
    p = sub.add_parser("play", help="play one uniform-random game and print the result")
    p.add_argument("--board", choices=BOARD_TYPES, default="square8")
    p.add_argument("--players", type=int, choices=(2, 3, 4), default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--swap-rule", action="store_true", help="enable the 2-player pie rule")
    p.add_argument("--max-moves", type=_positive_int, default=None,
                   help="stop after this many moves")
    p.add_argument("--verbose", action="store_true", help="print every move")


def _add_export(sub) -> None:
    e = sub.add_parser("export", help="export Parquet replay shards to one NPZ (seed layout), "
                       "or a checkpoint to an ONNX / TorchScript serving model (--format)")
    e.add_argument("shard_dir", metavar="SHARD_DIR|MODEL", help="directory of *.parquet "
                   "shards (npz), or a checkpoint file (onnx, torchscript)")
    e.add_argument("--out", required=True, metavar="FILE", help="output path")
    e.add_argument("--format", choices=("npz", *serving.FORMATS), default="npz",
                   help="npz: replay shards; onnx / torchscript: the model with its metadata "
                   "(board, players, preset, action-space size, value perspective)")
    e.add_argument("--board", choices=BOARD_TYPES, default="square8")
    e.add_argument("--players", type=int, choices=(2, 3, 4), default=2)
    e.add_argument("--skip-bad", action="store_true",
                   help="skip corrupt or foreign shards with a warning (moving them into "
                   "SHARD_DIR/quarantine/) instead of failing")


def _add_show(sub) -> None:
    s = sub.add_parser("show", help="draw a game (HTML replay) or a position (SVG / PNG)")
    s.add_argument("run_dir", nargs="?", metavar="RUN_DIR",
                   help="main-job run directory (a path or an s3:// / gs:// / file:// URI): "
                   "list its evaluation games (games/*.jsonl), or with --game N draw one")
    s.add_argument("--game", type=int, default=None, metavar="N",
                   help="with RUN_DIR: the game to draw (index in the listing)")
    s.add_argument("--candidate", default=None, metavar="vV",
                   help="with RUN_DIR: the candidate's games (default: the newest evaluated)")
    s.add_argument("--out", metavar="FILE",
                   help="output: .html (step-through replay), .svg or .png (final position)")
    s.add_argument("--board", choices=BOARD_TYPES, default="square8")
    s.add_argument("--players", type=int, choices=(2, 3, 4), default=2)
    s.add_argument("--seed", type=int, default=0, help="seed of the random game")
    s.add_argument("--max-moves", type=_positive_int, default=None,
                   help="stop the random game after this many moves")
    source = s.add_mutually_exclusive_group()
    source.add_argument("--state", metavar="STATE.json",
                        help='reference-format state, or {"state": ..., "state_extras": ...}')
    source.add_argument("--moves", metavar="MOVES.txt",
                        help="recorded game on --board/--players: one canonical move per line")


def _add_match(sub) -> None:
    m = sub.add_parser("match", help="play agents against each other; print A's win rate")
    m.add_argument("agents", nargs=2, metavar="AGENT",
                   help="random | heuristic | uct:N (plain UCT, N simulations) | minimax:D "
                   "(alpha-beta D plies) | CHECKPOINT[:SIMS] (a net with Gumbel search)")
    m.add_argument("--board", choices=BOARD_TYPES, default="square8")
    m.add_argument("--players", type=int, choices=(2, 3, 4), default=2)
    m.add_argument("--games", type=_positive_int, default=200)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--sims", type=_positive_int, default=32,
                   help="search simulations of a CHECKPOINT without :SIMS")
    m.add_argument("--concurrency", type=_positive_int, default=16, help="games at once")
    m.add_argument("--max-moves", type=_positive_int, default=100_000,
                   help="move cap per game (a capped game is a draw)")
    m.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    m.add_argument("--out", default=None, help="also write the match's summary here (JSON)")


def _add_elo(sub) -> None:
    r = sub.add_parser("elo", help="print a run's league table and plot Elo over time/steps "
                       "(a PBT run: one line per member, exploits marked)")
    r.add_argument("run_dir", metavar="RUN_DIR", help="main-job run directory (league.json; "
                   "a path or a storage URI) or PBT run directory (population.json)")
    r.add_argument("--out", default="elo.png", metavar="FILE.png",
                   help="PNG of Elo against wall time and training steps (default elo.png)")


def _source(text: str) -> str:
    from ringrift_ray.pretrain import parse_source

    try:
        parse_source(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _add_pretrain(sub) -> None:
    t = sub.add_parser("pretrain", help="train a net supervised from game records (warm "
                       "start for train.init_checkpoint)")
    t.add_argument("--source", required=True, type=_source,
                   metavar="shards:DIR|traces:PATH|heuristic:GAMES",
                   help="Parquet replay shards, reference JSONL traces (file or directory), "
                   "or that many heuristic-vs-heuristic games")
    t.add_argument("--out", required=True, metavar="FILE.pt", help="checkpoint to write")
    t.add_argument("--board", choices=BOARD_TYPES, default="square8")
    t.add_argument("--players", type=int, choices=(2, 3, 4), default=2)
    t.add_argument("--preset", choices=("tiny", "compact", "small", "medium"),
                   default="compact")
    t.add_argument("--steps", type=_positive_int, default=2000, help="train steps")
    t.add_argument("--batch-size", type=_positive_int, default=256)
    t.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    t.add_argument("--heldout", type=float, default=0.1, help="fraction of games held out")
    t.add_argument("--epsilon", type=float, default=0.1,
                   help="heuristic games: probability of a random move")
    t.add_argument("--seed", type=int, default=0)


def export(shard_dir: str, out: str, board_type: str, num_players: int,
           skip_bad: bool = False) -> int:
    """Export every matching shard of ``shard_dir`` to ``out`` and print a summary.

    Returns:
        The number of samples written.

    Raises:
        FileNotFoundError: ``shard_dir`` is missing.
        ValueError: no shard matches, or a bad shard without ``skip_bad`` (with it, the
            shard is moved into ``quarantine/``).
    """
    on_error = "skip" if skip_bad else "raise"
    with progress(None, f"reading {board_type} {num_players}p shards", "shard") as bar:
        def on_shard(samples: int, shards: int) -> None:
            bar.total = shards
            bar.update()
            bar.set_postfix(samples=samples)

        n = npz.export_directory(shard_dir, out, board_type, num_players, on_error=on_error,
                                 on_shard=on_shard)
    print(f"exported {n} {board_type} {num_players}p samples to {out}")
    return n


def match(specs: list[str], board_type: str, num_players: int, games: int, seed: int = 0,
          sims: int = 32, concurrency: int = 16, max_moves: int = 100_000,
          device: str | None = None, out: str | None = None):
    """Play ``specs[0]`` against ``specs[1]`` (seats rotated; 3-4 players: A at one seat, B at
    the others) with a progress bar, and print ``A vs B: win rate W [LO, HI] over N games``
    (Wilson 95%), the per-seat rates and, for 3-4 players, A's mean rank and win share
    against chance ((P+1)/2 and 1/P). With ``out``, also write `MatchResult.summary` plus
    the command's settings and wall-clock seconds there as JSON.

    Returns:
        The `MatchResult`.

    Raises:
        FileNotFoundError: a missing checkpoint.
        ValueError: an unreadable checkpoint or one for another board / player count.
    """
    import torch

    torch.set_num_threads(1)  # small batched searches: more threads only contend (2-core: 60x)
    agents = [agent_from_spec(s, board_type, num_players, sims, device) for s in specs]
    start = time.perf_counter()
    with progress(games, f"{specs[0]} vs {specs[1]}", "game") as bar:
        result = play_match(agents, board_type, num_players, games, seed,
                            concurrency=concurrency, max_moves=max_moves,
                            on_game_end=lambda _: bar.update())
    lo, hi = result.interval
    print(f"{specs[0]} vs {specs[1]}: win rate {result.win_rate:.2f} [{lo:.2f}, {hi:.2f}] "
          f"over {len(result.games)} games")
    seats = ", ".join(f"seat {d['seat']} {d['win_rate']:.2f} ({d['games']} games)"
                      for d in result.seat_stats() if d["games"])
    capped = sum(g.capped for g in result.games)
    print(f"{specs[0]} by seat: {seats}" + (f"; {capped} games capped (draws)" if capped else ""))
    if num_players > 2:
        chance = result.chance()
        print(f"{specs[0]} (one seat) vs {num_players - 1} x {specs[1]}: mean rank "
              f"{result.mean_rank:.2f} (chance {chance['mean_rank']:.2f}), win share "
              f"{result.win_rate:.2f} (chance {chance['win_rate']:.2f})")
    if out is not None:
        record = {**result.summary(), "specs": specs, "seed": seed, "sims": sims,
                  "max_moves": max_moves, "seconds": round(time.perf_counter() - start, 1)}
        Path(out).write_text(json.dumps(record, indent=2) + "\n")
    return result


def pretrain(source: str, out: str, board_type: str, num_players: int, preset: str,
             steps: int, batch_size: int = 256, lr: float = 2e-3, heldout: float = 0.1,
             epsilon: float = 0.1, seed: int = 0) -> dict:
    """Train a ``preset`` net supervised from ``source`` (`ringrift_ray.pretrain`), write it
    to ``out`` (a normal checkpoint) and print the held-out policy accuracy and value MSE.

    Returns:
        The metrics of `ringrift_ray.pretrain.pretrain` plus ``data_seconds``.

    Raises:
        FileNotFoundError: a missing shard directory or trace path.
        ValueError: a bad source, no samples of this board / player count, or too few games
            to hold some out.
    """
    import time

    from ringrift_ray.config import GameConfig, TrainConfig
    from ringrift_ray.net import NetSpec, save_checkpoint

    start = time.perf_counter()
    batch = warm.load_source(source, GameConfig(board=board_type, players=num_players), seed,
                             epsilon)
    data_s = time.perf_counter() - start
    cfg = TrainConfig(batch_size=batch_size, lr=lr, warmup_steps=min(100, steps // 10),
                      total_steps=steps)
    with progress(steps, "pretraining", "step") as bar:
        net, m = warm.pretrain(batch, NetSpec(board_type, num_players, preset), cfg, steps,
                               heldout_fraction=heldout, seed=seed, log_every=0,
                               on_step=lambda _, last: (bar.update(),
                                                        bar.set_postfix(loss=last["loss"])))
    m["data_seconds"] = data_s
    save_checkpoint(net, out, source=source, pretrain=m)
    print(f"{source}: {m['samples']} samples of {m['games']} games in {data_s:.0f} s; "
          f"{steps} steps in {m['seconds']:.0f} s")
    print(f"held-out ({m['heldout_samples']} samples): policy accuracy "
          f"{m['heldout/policy_accuracy']:.3f} (initial {m['heldout/initial_policy_accuracy']:.3f})"
          f", value MSE {m['heldout/value_loss']:.3f} (initial "
          f"{m['heldout/initial_value_loss']:.3f})")
    print(f"wrote {out}")
    return m


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:  # the Ray Serve launcher takes over (cli/serve.py)
        serve_cli.run(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "play":
        if args.swap_rule and args.players != 2:
            parser.error("--swap-rule needs --players 2 (the pie rule is 2-player only)")
        play(args.board, args.players, args.seed, args.swap_rule, args.max_moves, args.verbose)
    elif args.command == "export" and args.format != "npz":
        _run("export", lambda: print(json.dumps(serving.export_model(
            args.shard_dir, args.out, args.format))))
    elif args.command == "export":
        _run("export", lambda: export(args.shard_dir, args.out, args.board, args.players,
                                      args.skip_bad))
    elif args.command == "show" and args.run_dir is not None:
        _run("show", lambda: views.show_games(args.run_dir, args.game, args.out,
                                                 args.candidate),
             errors=(OSError, ValueError))
    elif args.command == "show" and (args.out is None or args.game is not None):
        parser.error("show needs --out FILE (and --game N only with RUN_DIR)")
    elif args.command == "show":
        _run("show", lambda: views.show(args.out, args.board, args.players, args.seed,
                                           args.state, args.moves, args.max_moves),
             errors=(OSError, ValueError))
    elif args.command == "match":
        _run("match", lambda: match(args.agents, args.board, args.players, args.games,
                                    args.seed, args.sims, args.concurrency, args.max_moves,
                                    args.device, args.out))
    elif args.command == "elo":
        _run("elo", lambda: views.elo(args.run_dir, args.out))
    elif args.command == "pretrain":
        _run("pretrain", lambda: pretrain(args.source, args.out, args.board, args.players,
                                          args.preset, args.steps, args.batch_size, args.lr,
                                          args.heldout, args.epsilon, args.seed))


def _run(command: str, call, errors: tuple = (FileNotFoundError, ValueError)) -> None:
    """Run ``call``; an input error in ``errors`` ends in one line on stderr and exit 1."""
    try:
        call()
    except errors as e:
        print(f"ringrift-ray {command}: error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
