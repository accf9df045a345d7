"""Selfplay: many games at once, one batched network call per search step (no Ray).

Every decision with more than one legal move is searched (single-move decisions, such as
most bookkeeping moves, are applied directly). Playout-cap randomization: with probability
``full_search_prob`` a search step gets the full ``num_simulations`` for all its games and
their decisions become training samples; otherwise it gets ``cheap_simulations`` and is not
recorded (one draw per step keeps every network batch full). The first
``temperature_moves`` decisions of a game sample their move from the improved policy at
``temperature``; later ones play the sequential-halving winner.

Samples (`SampleBatch`, columnar numpy):

| field            | dtype / shape        | meaning                                             |
|------------------|----------------------|-----------------------------------------------------|
| cells, scalars   | uint8 [N, 10, cells], float16 [N, 23] | compact state (``encoding.compact``) |
| policy_offsets   | int64 [N + 1]        | sample i's entries: ``offsets[i]:offsets[i+1]``     |
| policy_indices   | int32 [T]            | action indices (``encoding.py``)                    |
| policy_values    | float32 [T]          | improved-policy probabilities (top-k, renormalized) |
| values           | float32 [N, 4]       | value target per seat (seat 0 = player to move)     |
| to_move, ply     | int8 [N], int32 [N]  | player to move (1..P); moves applied before it      |
| game_id, model_version | int64 [N], int32 [N] | provenance                                    |

Value targets come from the final ranks (1st +1, last -1, linear between, ties share);
seats beyond the player count are 0; a game stopped by ``max_moves`` gives 0 to every seat.
With ``value_target_q_weight`` w > 0 the target is ``(1 - w) * outcome + w * root value``
of the recorded search (the "average z and q" target of Oracle's Connect-4 AlphaZero study).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ringrift_ray.agent import game_fns, rank_values
from ringrift_ray.config import SearchConfig, SelfplayConfig
from ringrift_ray.encoding import compact, legal_actions, values_to_seats
from ringrift_ray.game import apply_record_inplace, new_game, ranks
from ringrift_ray.game import constants as K
from ringrift_ray.search import EvaluateFn, gumbel_search

SEATS = 4


@dataclass
class SampleBatch:
    """Training samples of one (board, players) configuration; see the module table."""

    board: str
    players: int
    cells: np.ndarray
    scalars: np.ndarray
    policy_offsets: np.ndarray
    policy_indices: np.ndarray
    policy_values: np.ndarray
    values: np.ndarray
    to_move: np.ndarray
    ply: np.ndarray
    game_id: np.ndarray
    model_version: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    def nbytes(self) -> int:
        return sum(getattr(self, f).nbytes for f in ARRAY_FIELDS)

    def policy(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        s, e = self.policy_offsets[i], self.policy_offsets[i + 1]
        return self.policy_indices[s:e], self.policy_values[s:e]


ARRAY_FIELDS = ("cells", "scalars", "policy_offsets", "policy_indices", "policy_values",
                "values", "to_move", "ply", "game_id", "model_version")


def concat_batches(batches: list[SampleBatch]) -> SampleBatch:
    """Concatenate batches of one configuration (policy offsets are rebased).

    Raises:
        ValueError: empty list or batches of different boards / player counts.
    """
    if not batches:
        raise ValueError("concat_batches() needs at least one batch")
    b0 = batches[0]
    for b in batches:
        if (b.board, b.players) != (b0.board, b0.players):
            raise ValueError(f"cannot mix {b0.board}/{b0.players}p with {b.board}/{b.players}p")
    offsets, base = [np.zeros(1, dtype=np.int64)], 0
    for b in batches:
        offsets.append(b.policy_offsets[1:] + base)
        base += int(b.policy_offsets[-1])
    cat = {f: np.concatenate([getattr(b, f) for b in batches])
           for f in ARRAY_FIELDS if f != "policy_offsets"}
    return SampleBatch(b0.board, b0.players, policy_offsets=np.concatenate(offsets), **cat)


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


def play_games(board_type: str, num_players: int, evaluate: EvaluateFn, search: SearchConfig,
               cfg: SelfplayConfig, rng: np.random.Generator, *, model_version: int = 0,
               first_game_id: int = 0, swap_rule: bool = False
               ) -> tuple[SampleBatch, SelfplayStats]:
    """Play ``cfg.games_per_batch`` games to the end and return their samples.

    Args:
        board_type, num_players, swap_rule: the variant.
        evaluate: the network as an `EvaluateFn` (values in absolute seat order).
        search: full-search parameters (``num_simulations`` is the full budget).
        cfg: selfplay parameters.
        rng: randomness for Gumbel noise, playout caps and opening sampling.
        model_version: recorded in every sample.
        first_game_id: game ids are ``first_game_id + i``.
    """
    t0 = time.perf_counter()
    stats = SelfplayStats()
    counting = _counting(evaluate, stats)
    cheap = search.model_copy(update={"num_simulations": cfg.cheap_simulations})
    g = game_fns(num_players)
    states = [new_game(board_type, num_players, swap_rule=swap_rule)
              for _ in range(cfg.games_per_batch)]
    decisions = np.zeros(len(states), dtype=np.int64)
    moves = np.zeros(len(states), dtype=np.int64)
    records: list[list[tuple]] = [[] for _ in states]  # per game: (state, actions, probs)
    live = list(range(len(states)))
    while live:
        searched = []
        for i in live:
            idx, recs = legal_actions(states[i])
            if len(idx) == 1:
                apply_record_inplace(states[i], recs[0])
                moves[i] += 1
            else:
                searched.append(i)
        # playout-cap randomization per search step (all games share it: full batches)
        full = searched if rng.random() < cfg.full_search_prob else []
        full_set = set(full)
        for group, scfg in ((full, search), ([i for i in searched if i not in full_set], cheap)):
            if not group:
                continue
            results = gumbel_search([states[i] for i in group], g, counting, scfg, rng)
            for i, res in zip(group, results, strict=True):
                if i in full_set:
                    records[i].append((states[i].copy(), *_top_k(res.actions, res.policy,
                                                                  cfg.policy_top_k),
                                       res.root_value))
                action = res.action
                if decisions[i] < cfg.temperature_moves:
                    p = res.policy ** (1.0 / cfg.temperature)
                    action = int(res.actions[rng.choice(len(p), p=p / p.sum())])
                states[i] = g.apply(states[i], action)
                decisions[i] += 1
                moves[i] += 1
                stats.searched_moves += 1
        live = [i for i in live if states[i].is_active and moves[i] < cfg.max_moves]
    batch = _to_batch(board_type, num_players, states, records, model_version, first_game_id,
                      cfg.value_target_q_weight)
    stats.games = len(states)
    stats.moves = int(moves.sum())
    stats.samples = len(batch)
    stats.capped_games = sum(1 for s in states if s.is_active)
    stats.winners = [s.winner for s in states]
    stats.seconds = time.perf_counter() - t0
    return batch, stats


def _counting(evaluate: EvaluateFn, stats: SelfplayStats) -> EvaluateFn:
    def wrapped(states):
        stats.net_batches += 1
        stats.net_positions += len(states)
        return evaluate(states)
    return wrapped


def _to_batch(board_type, num_players, finals, records, model_version, first_game_id,
              q_weight: float = 0.0) -> SampleBatch:
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
        board=board_type, players=num_players, cells=cells, scalars=scalars,
        policy_offsets=np.asarray(offsets, dtype=np.int64),
        policy_indices=np.concatenate(indices) if n else np.zeros(0, np.int32),
        policy_values=np.concatenate(values) if n else np.zeros(0, np.float32),
        values=np.asarray(seat_values, dtype=np.float32).reshape(n, SEATS),
        to_move=meta_arr[:, 0].astype(np.int8), ply=meta_arr[:, 1].astype(np.int32),
        game_id=meta_arr[:, 2], model_version=np.full(n, model_version, dtype=np.int32))
