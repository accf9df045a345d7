"""Supervised warm start: train the network from game records (no Ray, no search).

Three sources become samples of the contract in ``samples.py`` (`SampleBatch`):

| source          | games                                          | policy target      |
|-----------------|------------------------------------------------|--------------------|
| ``shards:DIR``  | our Parquet replay shards (``replay.py``)      | stored improved    |
|                 |                                                | policy             |
| ``traces:PATH`` | reference JSONL traces (a ``.jsonl[.gz]`` or a | the played move,   |
|                 | directory of them), replayed through our engine| one-hot            |
| ``heuristic:N`` | N heuristic-vs-heuristic games; each move is   | the heuristic's    |
|                 | uniformly random with probability ``epsilon``  | greedy move,       |
|                 | so that games differ                           | one-hot            |

Only decisions with more than one legal move become samples (as in selfplay). Value
targets are the game's final ranks as in selfplay (``selfplay._to_batch``): 1st +1, last
-1, linear between, ties share, in seat order (seat 0 = the player to move); a game stopped
by a move cap gives 0 to every seat.

`pretrain` splits the samples by game into training and held-out games, runs
``train.train_step`` for ``steps`` minibatches (shuffled epochs) and reports held-out
``policy_loss``, ``value_loss`` (MSE over seats), ``policy_accuracy`` (top-1 of the network
equals the target's most probable move: the played move for traces and heuristic games).
The CLI writes the result with ``net.save_checkpoint``, so every command and the main job's
``train.init_checkpoint`` load it.

Legend: ``N`` samples, ``B`` minibatch, ``A`` actions, ``P`` players.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from ringrift_ray.config import GameConfig, TrainConfig
from ringrift_ray.encoding import compact, record_indices, values_to_seats
from ringrift_ray.eval.baselines import heuristic_agent
from ringrift_ray.game import (
    apply_record_inplace,
    find_legal_record,
    move_from_text,
    new_game,
    ply,
    ranks,
    state_from_reference,
)
from ringrift_ray.net import NetSpec, PolicyValueNet
from ringrift_ray.replay.shards import read_shards
from ringrift_ray.samples import SEATS, SampleBatch, concat_batches, take
from ringrift_ray.search.game_fns import cached_legal_actions, rank_values
from ringrift_ray.train import losses, make_optimizer, to_tensors, train_step

log = logging.getLogger(__name__)

SOURCE_KINDS = ("shards", "traces", "heuristic")


def parse_source(text: str) -> tuple[str, str]:
    """``"KIND:ARG"`` -> ``(kind, arg)``, kind one of `SOURCE_KINDS`.

    Raises:
        ValueError: no colon, an unknown kind, an empty argument, or a heuristic game count
            that is not a positive integer.
    """
    kind, sep, arg = text.partition(":")
    if not sep or kind not in SOURCE_KINDS or not arg:
        raise ValueError(f"bad source {text!r}: expected shards:DIR, traces:PATH or "
                         "heuristic:GAMES")
    if kind == "heuristic" and not (arg.isdigit() and int(arg) > 0):
        raise ValueError(f"bad source {text!r}: GAMES must be a positive integer")
    return kind, arg


def load_source(text: str, game: GameConfig, seed: int = 0, epsilon: float = 0.1
                ) -> SampleBatch:
    """The samples of a ``KIND:ARG`` source (`parse_source`) for ``game``.

    Raises:
        FileNotFoundError: a missing shard directory or trace path.
        ValueError: a bad source text, or a source without samples of ``game``'s board and
            player count.
    """
    kind, arg = parse_source(text)
    if kind == "shards":
        batch = read_shards(arg, game.board, game.players)  # a path or a storage URI
    elif kind == "traces":
        batch = trace_samples(arg, game)
    else:
        batch = heuristic_samples(game, int(arg), np.random.default_rng(seed), epsilon)
    if batch is None or len(batch) == 0:
        raise ValueError(f"{text}: no {game.board} {game.players}p samples")
    return batch


# ---- samples -------------------------------------------------------------------------------


def _game_batch(game: GameConfig, records: list, final_values: np.ndarray | None,
                game_id: int) -> SampleBatch:
    """One game's decisions ``[(state, played action index)]`` as samples (one-hot policy);
    ``final_values`` `[P]` by player (index ``player - 1``), None for a capped game."""
    n, p = len(records), game.players
    by_player = np.zeros(p) if final_values is None else final_values
    values = np.zeros((n, SEATS), dtype=np.float32)
    for i, (s, _) in enumerate(records):
        values[i, :p] = values_to_seats(s, by_player)
    states = [s for s, _ in records] or [new_game(game.board, p, swap_rule=game.swap_rule)]
    cells, scalars = compact(states)
    return SampleBatch(
        board=game.board, players=p, cells=cells[:n], scalars=scalars[:n],
        policy_offsets=np.arange(n + 1, dtype=np.int64),
        policy_indices=np.array([a for _, a in records], dtype=np.int32),
        policy_values=np.ones(n, dtype=np.float32), values=values,
        to_move=np.array([s.current_player for s, _ in records], dtype=np.int8),
        ply=np.array([ply(s) for s, _ in records], dtype=np.int32),
        game_id=np.full(n, game_id, dtype=np.int64),
        model_version=np.full(n, -1, dtype=np.int32))


def _is_decision(state) -> bool:
    return len(cached_legal_actions(state)[0]) > 1


def heuristic_samples(game: GameConfig, games: int, rng: np.random.Generator,
                      epsilon: float = 0.1, max_moves: int = 2000) -> SampleBatch:
    """``games`` heuristic-vs-heuristic games (``baselines.heuristic_agent``): at each
    decision the target is the heuristic's greedy move and the move played is that one, or
    with probability ``epsilon`` a uniformly random legal move. Game ids ``0..games-1``.

    Raises:
        ValueError: ``games`` < 1 or ``epsilon`` outside [0, 1].
    """
    if games < 1 or not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"need games >= 1 and 0 <= epsilon <= 1, got {games}, {epsilon}")
    act = heuristic_agent().act
    out = []
    for g in range(games):
        state = new_game(game.board, game.players, swap_rule=game.swap_rule)
        records = []
        for _ in range(max_moves):
            if not state.is_active:
                break
            idx, recs = cached_legal_actions(state)
            rec = recs[0]
            if len(recs) > 1:
                rec = act([state], rng)[0]
                records.append((state.copy(), int(record_indices(state, rec[None])[0])))
                if rng.random() < epsilon:
                    rec = recs[rng.integers(len(recs))]
            apply_record_inplace(state, rec)
        final = None if state.is_active else rank_values(ranks(state), game.players)
        out.append(_game_batch(game, records, final, g))
        if (g + 1) % max(1, games // 10) == 0:
            log.info("heuristic games: %d/%d", g + 1, games)
    return concat_batches(out)


def _trace_files(path: str | Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.jsonl.gz")) + sorted(path.glob("*.jsonl"))
        if not files:
            raise FileNotFoundError(f"no *.jsonl.gz / *.jsonl traces in {path}")
        return files
    if not path.is_file():
        raise FileNotFoundError(f"trace file or directory not found: {path}")
    return [path]


def _trace_games(path: Path) -> Iterator[tuple[dict, list[dict], dict]]:
    """``(game_start, steps, game_end)`` of every game of one JSONL (optionally gzipped)."""
    opener = gzip.open if path.suffix == ".gz" else open
    start, steps = None, []
    with opener(path, "rt") as f:
        for n, line in enumerate(f, 1):
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not JSON: {e}") from None
            if d.get("kind") == "game_start":
                start, steps = d, []
            elif d.get("kind") == "step":
                steps.append(d)
            elif d.get("kind") == "game_end" and start is not None and steps:
                yield start, steps, d


def trace_samples(path: str | Path, game: GameConfig) -> SampleBatch | None:
    """Samples of every trace game on ``game``'s board and player count under ``path`` (a
    ``.jsonl[.gz]`` file or a directory of them), replayed through our engine from the first
    step's state. Where the reference ends territory processing without a move our engine
    offers ``skip_territory_processing`` (a documented divergence, ``tests/replay.py``), the
    skip is applied. A game with a played move our engine cannot replay is left out whole
    (a warning names the file, game, step and move; its outcome would not be ours). Value
    targets come from the trace's ``ranks``. Game ids count up over all games kept. None
    when no game matches.

    Raises:
        FileNotFoundError: ``path`` is missing (or a directory without traces).
        ValueError: an unreadable line, or games that match but none can be replayed (the
            message names the first failure).
    """
    out, failures = [], []
    for file in _trace_files(path):
        for start, steps, end in _trace_games(file):
            if (start.get("board_type"), start.get("num_players")) != (game.board,
                                                                         game.players):
                continue
            where = f"{file.name} game {start.get('game')}"
            try:
                records = _replay_trace(steps, where)
            except ValueError as e:
                log.warning("left out %s", e)
                failures.append(str(e))
                continue
            final = None
            if end.get("game_status") == "completed" and end.get("ranks"):
                final = rank_values({int(p): r for p, r in end["ranks"].items()},
                                    game.players)
            out.append(_game_batch(game, records, final, len(out)))
    if failures and not out:
        raise ValueError(f"no trace game could be replayed ({len(failures)} tried); first: "
                         f"{failures[0]}")
    if failures:
        log.warning("traces: %d games replayed, %d left out", len(out), len(failures))
    return concat_batches(out) if out else None


def _replay_trace(steps: list[dict], where: str) -> list:
    """``[(state, played action index)]`` of one trace game's decisions."""
    state = state_from_reference(steps[0]["state"], steps[0].get("state_extras"))
    records = []
    for d in steps:
        chosen = d["chosen"]
        try:
            rec = _trace_record(state, chosen)
        except ValueError as e:
            raise ValueError(f"{where} step {d.get('step')}: cannot replay {chosen!r}: {e}"
                             ) from None
        if _is_decision(state):
            records.append((state.copy(), int(record_indices(state, rec[None])[0])))
        apply_record_inplace(state, rec)
    return records


def _trace_record(state, chosen: str) -> np.ndarray:
    """The record of ``chosen``; where it is not legal and our engine is still in territory
    processing, our skip is applied to ``state`` first (the reference's
    ``no_territory_action`` becomes that skip)."""
    skip = f"skip_territory_processing p{state.current_player}"
    try:
        return find_legal_record(state, chosen)
    except ValueError:
        if state.phase != "territory_processing":
            raise
    if move_from_text(chosen).type == "no_territory_action":
        return find_legal_record(state, skip)
    apply_record_inplace(state, find_legal_record(state, skip))
    return find_legal_record(state, chosen)


# ---- training ------------------------------------------------------------------------------


def split_by_game(batch: SampleBatch, heldout_fraction: float, rng: np.random.Generator
                  ) -> tuple[SampleBatch, SampleBatch]:
    """``(train, heldout)``: a random ``heldout_fraction`` of the games (at least one, and
    at least one left for training) and all their samples held out.

    Raises:
        ValueError: fewer than two games, or a fraction outside (0, 1).
    """
    games = np.unique(batch.game_id)
    if len(games) < 2 or not 0.0 < heldout_fraction < 1.0:
        raise ValueError(f"a held-out split needs >= 2 games and 0 < fraction < 1, got "
                         f"{len(games)} games and {heldout_fraction}")
    k = min(len(games) - 1, max(1, round(heldout_fraction * len(games))))
    held = np.isin(batch.game_id, rng.choice(games, size=k, replace=False))
    return take(batch, np.flatnonzero(~held)), take(batch, np.flatnonzero(held))


@torch.no_grad()
def evaluate_samples(net: torch.nn.Module, batch: SampleBatch, value_loss_weight: float = 1.0,
                     chunk: int = 1024) -> dict[str, float]:
    """Sample-weighted means over ``batch`` (no augmentation): ``policy_loss``,
    ``value_loss`` (MSE over seats), ``loss`` and ``policy_accuracy`` (the network's top-1
    action equals the target's most probable action)."""
    net.eval()
    sums = dict.fromkeys(("policy_loss", "value_loss", "loss", "policy_accuracy"), 0.0)
    for lo in range(0, len(batch), chunk):
        part = take(batch, np.arange(lo, min(lo + chunk, len(batch))))
        t = to_tensors(part, None, False)
        out = losses(net, t, value_loss_weight)
        for k in ("policy_loss", "value_loss", "loss"):
            sums[k] += float(out[k]) * len(part)
        logits, _ = net(t["obs"])
        target = np.array([idx[np.argmax(p)] for idx, p in map(part.policy, range(len(part)))])
        sums["policy_accuracy"] += float((logits.argmax(1).numpy() == target).sum())
    return {k: v / len(batch) for k, v in sums.items()}


def pretrain(batch: SampleBatch, spec: NetSpec, cfg: TrainConfig, steps: int, *,
             heldout_fraction: float = 0.1, seed: int = 0, net: PolicyValueNet | None = None,
             log_every: int = 100, on_step: Callable[[int, dict], None] | None = None
             ) -> tuple[PolicyValueNet, dict[str, float]]:
    """Train ``net`` (default: a fresh one of ``spec``) for ``steps`` minibatches of
    ``cfg.batch_size`` from ``batch``'s training games with ``train.train_step``
    (``cfg``'s optimizer, schedule and augmentation). ``on_step(step, losses)`` is called
    after every step (a progress bar); ``log_every`` steps also log the loss.

    Returns:
        ``(net, metrics)``: ``heldout/*`` before (``heldout/initial_*``) and after training
        (`evaluate_samples`), ``train/loss`` of the last step, ``samples``, ``train_samples``,
        ``heldout_samples``, ``games``, ``steps``, ``seconds``.

    Raises:
        ValueError: ``steps`` < 1, a batch for another board / player count than ``spec``,
            or too few games to hold some out (`split_by_game`).
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if (batch.board, batch.players) != (spec.board, spec.players):
        raise ValueError(f"samples are {batch.board} {batch.players}p, the net "
                         f"{spec.board} {spec.players}p")
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    train_part, held = split_by_game(batch, heldout_fraction, rng)
    net = PolicyValueNet(spec) if net is None else net
    opt, sched = make_optimizer(net, cfg)
    metrics = {f"heldout/initial_{k}": v
               for k, v in evaluate_samples(net, held, cfg.value_loss_weight).items()}
    start, order, pos, last = time.perf_counter(), rng.permutation(len(train_part)), 0, {}
    for step in range(steps):
        if pos + cfg.batch_size > len(order):
            order, pos = rng.permutation(len(train_part)), 0
        rows = order[pos:pos + cfg.batch_size]
        pos += len(rows)
        last = train_step(net, opt, sched, to_tensors(take(train_part, rows), rng,
                                                      cfg.augment), cfg)
        if on_step is not None:
            on_step(step + 1, last)
        if log_every and (step + 1) % log_every == 0:
            log.info("pretrain step %d/%d: loss %.3f", step + 1, steps, last["loss"])
    metrics.update({f"heldout/{k}": v
                    for k, v in evaluate_samples(net, held, cfg.value_loss_weight).items()})
    metrics.update({"train/loss": last["loss"], "samples": len(batch),
                    "train_samples": len(train_part), "heldout_samples": len(held),
                    "games": len(np.unique(batch.game_id)), "steps": steps,
                    "seconds": time.perf_counter() - start})
    return net, metrics
