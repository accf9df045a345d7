"""Selfplay: many games at once, one batched network call per search step (no Ray).

Every decision with more than one legal move is searched (single-move decisions, such as
most bookkeeping moves, are applied directly). Playout-cap randomization: with probability
``full_search_prob`` a search step gets the full ``num_simulations`` for all its games and
their decisions become training samples; otherwise it gets ``cheap_simulations`` and is not
recorded (one draw per step keeps every network batch full). The first
``temperature_moves`` decisions of a game sample their move from the improved policy at
``temperature``; later ones play the sequential-halving winner.

Each recorded decision becomes one sample of the contract in ``samples.py``
(`SampleBatch`).

Value targets come from the final ranks (1st +1, last -1, linear between, ties share);
seats beyond the player count are 0; a game stopped by ``max_moves`` gives 0 to every seat.
With ``value_target_q_weight`` w > 0 the target is ``(1 - w) * outcome + w * root value``
of the recorded search (the "average z and q" target of Oracle's Connect-4 AlphaZero study).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ringrift_ray.config import GameConfig, SearchConfig, SelfplayConfig
from ringrift_ray.encoding import compact, values_to_seats
from ringrift_ray.game import apply_record, new_game, ranks
from ringrift_ray.game import constants as K
from ringrift_ray.samples import SEATS, SampleBatch
from ringrift_ray.search import EvaluateFn, GameFns, gumbel_search
from ringrift_ray.search_fns import forced_record, game_fns, rank_values


@dataclass
class SelfplayStats:
    games: int = 0
    moves: int = 0
    searched_moves: int = 0
    samples: int = 0
    capped_games: int = 0
    net_batches: int = 0
    net_positions: int = 0
    seconds: float = 0.0
    winners: list = field(default_factory=list)

    @property
    def nn_batch_fill(self) -> float:
        """Mean positions per network call (divide by games per batch for a fill ratio)."""
        return self.net_positions / max(self.net_batches, 1)


def _top_k(actions: np.ndarray, probs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if len(actions) > k:
        keep = np.argpartition(-probs, k - 1)[:k]
        actions, probs = actions[keep], probs[keep]
    order = np.argsort(actions)
    probs = probs[order]
    return actions[order].astype(np.int32), (probs / probs.sum()).astype(np.float32)


def play_games(game: GameConfig, evaluate: EvaluateFn, search: SearchConfig,
               cfg: SelfplayConfig, rng: np.random.Generator, *, model_version: int = 0,
               first_game_id: int = 0) -> tuple[SampleBatch, SelfplayStats]:
    """Play ``cfg.games_per_batch`` games to the end and return their samples.

    Args:
        game: the variant (board, players, swap rule).
        evaluate: the network as an `EvaluateFn` (values in absolute seat order).
        search: full-search parameters (``num_simulations`` is the full budget).
        cfg: selfplay parameters.
        rng: randomness for Gumbel noise, playout caps and opening sampling.
        model_version: recorded in every sample.
        first_game_id: game ids are ``first_game_id + i``.
    """
    t0 = time.perf_counter()
    stats = SelfplayStats()
    states = [new_game(game.board, game.players, swap_rule=game.swap_rule)
              for _ in range(cfg.games_per_batch)]
    decisions = np.zeros(len(states), dtype=np.int64)
    moves = np.zeros(len(states), dtype=np.int64)
    records: list[list[tuple]] = [[] for _ in states]  # per game: (state, actions, probs, v)
    searches = _Searches(game_fns(game.players), _counting(evaluate, stats), search,
                         search.model_copy(update={"num_simulations": cfg.cheap_simulations}))
    live = list(range(len(states)))
    while live:
        searched = []
        for i in live:
            forced = forced_record(states[i])
            if forced is None:
                searched.append(i)
            else:
                states[i] = apply_record(states[i], forced)
            moves[i] += 1
        # playout-cap randomization per search step (all games share it: full batches)
        full = rng.random() < cfg.full_search_prob
        for i, res in zip(searched, searches.run([states[i] for i in searched], full, rng),
                          strict=True):
            if full:
                records[i].append((states[i].copy(), *_top_k(res.actions, res.policy,
                                                              cfg.policy_top_k), res.root_value))
            states[i] = searches.game.apply(states[i], _choose(res, decisions[i], cfg, rng))
            decisions[i] += 1
        stats.searched_moves += len(searched)
        live = [i for i in live if states[i].is_active and moves[i] < cfg.max_moves]
    batch = _to_batch(game, states, records, model_version, first_game_id,
                      cfg.value_target_q_weight)
    stats.games, stats.moves, stats.samples = len(states), int(moves.sum()), len(batch)
    stats.capped_games = sum(1 for s in states if s.is_active)
    stats.winners = [s.winner for s in states]
    stats.seconds = time.perf_counter() - t0
    return batch, stats


@dataclass(frozen=True)
class _Searches:
    """The game, the counted network and the full / cheap search budgets of one batch."""

    game: GameFns
    evaluate: EvaluateFn
    full: SearchConfig
    cheap: SearchConfig

    def run(self, states: list, full: bool, rng: np.random.Generator) -> list:
        if not states:
            return []
        return gumbel_search(states, self.game, self.evaluate, self.full if full else self.cheap,
                             rng)


def _choose(res, decision: int, cfg: SelfplayConfig, rng: np.random.Generator) -> int:
    """The action to play: sampled from the improved policy at ``cfg.temperature`` during
    the first ``cfg.temperature_moves`` decisions, else the sequential-halving winner."""
    if decision >= cfg.temperature_moves:
        return res.action
    p = res.policy ** (1.0 / cfg.temperature)
    return int(res.actions[rng.choice(len(p), p=p / p.sum())])


def _counting(evaluate: EvaluateFn, stats: SelfplayStats) -> EvaluateFn:
    def wrapped(states):
        stats.net_batches += 1
        stats.net_positions += len(states)
        return evaluate(states)
    return wrapped


def _to_batch(game: GameConfig, finals, records, model_version, first_game_id,
              q_weight: float = 0.0) -> SampleBatch:
    num_players = game.players
    states, indices, values, offsets, seat_values, meta = [], [], [], [0], [], []
    for gi, (final, recs) in enumerate(zip(finals, records, strict=True)):
        by_player = (np.zeros(num_players) if final.is_active
                     else rank_values(ranks(final), num_players))
        for s, actions, probs, root_value in recs:
            states.append(s)
            indices.append(actions)
            values.append(probs)
            offsets.append(offsets[-1] + len(actions))
            v = np.zeros(SEATS, dtype=np.float32)
            target = (1.0 - q_weight) * by_player + q_weight * root_value[:num_players]
            v[:num_players] = values_to_seats(s, target)
            seat_values.append(v)
            meta.append((s.current_player, int(s.meta[K.M_HISTORY]), first_game_id + gi))
    n = len(states)
    cells, scalars = compact(states if n else finals[:1])
    cells, scalars = cells[:n], scalars[:n]
    meta_arr = np.array(meta, dtype=np.int64).reshape(n, 3)
    return SampleBatch(
        board=game.board, players=num_players, cells=cells, scalars=scalars,
        policy_offsets=np.asarray(offsets, dtype=np.int64),
        policy_indices=np.concatenate(indices) if n else np.zeros(0, np.int32),
        policy_values=np.concatenate(values) if n else np.zeros(0, np.float32),
        values=np.asarray(seat_values, dtype=np.float32).reshape(n, SEATS),
        to_move=meta_arr[:, 0].astype(np.int8), ply=meta_arr[:, 1].astype(np.int32),
        game_id=meta_arr[:, 2], model_version=np.full(n, model_version, dtype=np.int32))
