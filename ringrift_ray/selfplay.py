"""Continuous selfplay: a fixed number of game slots, one batched network call per search
step (no Ray).

A `SlotRun` holds ``SelfplayConfig.games_per_batch`` game slots that live across calls of
`play_steps`. Each step advances every slot: a slot without a search applies forced moves
(decisions with one legal move, most bookkeeping moves) until a real decision, then starts a
search of it (`search.start_search`); one `search.search_step` then expands the new roots
and runs one simulation of every search in flight with ONE network call for all slots. A
finished search plays its move; a finished game (or one reaching ``max_moves``) becomes
samples at once and a new game takes its slot, so the network batch stays full.
With ``selfplay.pipeline`` the slots are two halves whose search steps alternate, so one
half's network call runs while the other half's tree and rules work is done. With
``search.tree == "compiled"`` (the default) each group's searches live in one
`search.batched.Forest` (compiled steps); ``"python"`` keeps one `search.Tree` per slot.
Both play the same games for the same network and seeds. With ``search.subtree_reuse``
(compiled only) a slot's next search starts from its last one's subtree (`search.reuse`).

Playout-cap randomization (KataGo), per searched decision: with probability
``full_search_prob`` the search gets the full ``num_simulations`` and its decision becomes a
training sample; otherwise it gets ``cheap_simulations`` and is not recorded. Full and cheap
searches share the network calls. The first ``temperature_moves`` decisions of a game sample
their move from the improved policy at ``temperature``; later ones play the
sequential-halving winner.

Each recorded decision becomes one sample of the contract in ``samples.py``
(`SampleBatch`); its ``model_version`` is the version passed to the `play_steps` call in
which its search finished (callers load new weights between calls, i.e. between steps).

Value targets come from the final ranks (1st +1, last -1, linear between, ties share);
seats beyond the player count are 0; a game stopped by ``max_moves`` gives 0 to every seat.
With ``value_target_q_weight`` w > 0 the target is ``(1 - w) * outcome + w * root value``
of the recorded search (the "average z and q" target of Oracle's Connect-4 AlphaZero study).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ringrift_ray.config import GameConfig, SearchConfig, SelfplayConfig
from ringrift_ray.encoding import compact, values_to_seats
from ringrift_ray.game import apply_record, new_game, ply, ranks
from ringrift_ray.samples import SEATS, SampleBatch
from ringrift_ray.search.batched import (
    Forest,
    ForestStep,
    TreeSearch,
    begin_forest_step,
    end_forest_step,
    new_forest,
)
from ringrift_ray.search.game_fns import forced_record, game_fns, rank_values
from ringrift_ray.search.game_kernels import compiled_game, leaf_evaluate
from ringrift_ray.search.gumbel import (
    EvaluateFn,
    GameFns,
    RootSearch,
    StepInFlight,
    begin_step,
    end_step,
    network_thread,
    start_search,
)
from ringrift_ray.search.reuse import restart_root


@dataclass
class SelfplayStats:
    """Counts of one `play_steps` call (games/samples: the games finished in it)."""

    games: int = 0
    moves: int = 0  # moves applied, forced ones included
    searched_moves: int = 0  # searches finished (and their moves played)
    simulations: int = 0  # simulations of the finished searches
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


@dataclass
class _Slot:
    """One game in a slot: its state, recorded decisions and the search in flight."""

    state: Any
    game_id: int
    records: list = field(default_factory=list)  # (state, actions, probs, root value, version)
    moves: int = 0
    decisions: int = 0
    search: RootSearch | TreeSearch | None = None
    full: bool = False


@dataclass
class SlotRun:
    """Game slots that keep playing across `play_steps` calls (make one with `new_run`).

    Attributes:
        game, cfg: the variant and the selfplay parameters (``cfg.games_per_batch`` slots).
        fns: the game as the search sees it.
        full, cheap: search parameters of full and cheap searches.
        slots: the games in play (None: an empty slot, once ``games_left`` is 0).
        next_game_id: id of the next game started.
        games_left: games still to start (None: no limit).
        forests: with ``full.tree == "compiled"``, one `search.batched.Forest` per group of
            slots (two with ``cfg.pipeline``), tree ``i - start`` for slot ``i``; else None.
    """

    game: GameConfig
    cfg: SelfplayConfig
    fns: GameFns
    full: SearchConfig
    cheap: SearchConfig
    slots: list
    next_game_id: int
    games_left: int | None
    forests: list[Forest] | None = None


def new_run(game: GameConfig, search: SearchConfig, cfg: SelfplayConfig, *,
            first_game_id: int = 0, max_games: int | None = None) -> SlotRun:
    """``cfg.games_per_batch`` empty slots; games start at the first `play_steps` call.

    Args:
        game: the variant (board, players, swap rule).
        search: full-search parameters (``num_simulations`` is the full budget).
        cfg: selfplay parameters.
        first_game_id: id of the first game; later games count up.
        max_games: games to play in all (None: keep starting games forever).
    """
    forests = None
    if search.tree == "compiled":
        compiled = compiled_game(game.board, game.players)
        budget = max(search.num_simulations, cfg.cheap_simulations)
        forests = [new_forest(compiled, len(g), budget, search)
                   for g in _groups(cfg.games_per_batch, cfg.pipeline)]
    return SlotRun(game, cfg, game_fns(game.players), search,
                   search.model_copy(update={"num_simulations": cfg.cheap_simulations}),
                   [None] * cfg.games_per_batch, first_game_id, max_games, forests)


def _groups(n: int, pipeline: bool) -> list[range]:
    """The slots' groups: two halves whose steps alternate with ``pipeline``, else one."""
    return [range(0, (n + 1) // 2), range((n + 1) // 2, n)] if pipeline and n > 1 \
        else [range(n)]


def play_steps(run: SlotRun, evaluate: EvaluateFn, rng: np.random.Generator, *,
               model_version: int = 0, min_games: int | None = None,
               max_seconds: float | None = None,
               between_steps: Callable[[], int] | None = None
               ) -> tuple[SampleBatch, SelfplayStats]:
    """Play search steps until ``min_games`` games have finished in this call (default
    ``cfg.games_per_batch``), ``max_seconds`` have passed, or no game is left to play;
    return the finished games' samples.

    Unfinished games stay in their slots for the next call. ``between_steps`` runs before
    every search step (e.g. to load newer weights into the network behind ``evaluate``) and
    returns the model version that plays from then on; it replaces ``model_version``.
    With ``cfg.pipeline`` the slots play in two halves whose steps alternate; ``between_steps``
    then runs on `search.network_thread` between two network calls (and once here at the
    start), and a search records the version of the latest call that had finished.

    Args:
        run: the slots (mutated).
        evaluate: the network as an `EvaluateFn` (values `[B, P]` in absolute seat order).
        rng: randomness for Gumbel noise, playout caps and opening sampling.
        model_version: recorded in the samples of searches finished in this call.
        min_games: finished games that end the call.
        max_seconds: wall-clock seconds that end the call (checked between steps).
        between_steps: ``() -> model version``, called before every search step.

    Returns:
        (samples of the games finished in this call, stats of this call).
    """
    t0, stats = time.perf_counter(), SelfplayStats()
    counted = _counting(evaluate, stats)
    target = run.cfg.games_per_batch if min_games is None else min_games
    finished: list[_Slot] = []
    groups = _groups(len(run.slots), run.cfg.pipeline)
    leaf_eval = None if run.forests is None else leaf_evaluate(evaluate)
    steps: list[StepInFlight | ForestStep | None] = [None] * len(groups)
    poll: Future | None = None  # pipelined: between_steps queued behind the network calls
    if between_steps is not None and len(groups) > 1:
        model_version = between_steps()  # nothing in flight yet
    while True:
        for g, slots in enumerate(groups):
            if steps[g] is not None:
                _end_group(run, steps[g], slots, model_version, rng, stats)
                steps[g] = None
            if len(finished) >= target or (max_seconds is not None
                                           and time.perf_counter() - t0 >= max_seconds):
                continue  # finish the steps in flight, start no more
            if between_steps is not None:
                model_version, poll = _next_version(between_steps, len(groups) > 1, poll,
                                                    model_version)
            for i in slots:
                _advance(run, i, rng, finished, stats)
            steps[g] = _begin_group(run, g, slots, counted, leaf_eval, stats)
        if all(step is None for step in steps):
            break
    if poll is not None:
        poll.result()
    return _collect(run, finished, stats, t0)


def _begin_group(run: SlotRun, g: int, slots: range, counted: EvaluateFn, leaf_eval,
                 stats: SelfplayStats) -> StepInFlight | ForestStep | None:
    """Begin one group's search step (None: no search in flight there)."""
    if all(run.slots[i] is None for i in slots):
        return None
    if run.forests is not None:
        return begin_forest_step(run.forests[g], _counting_leaves(leaf_eval, stats))
    return begin_step([run.slots[i].search for i in slots if run.slots[i] is not None],
                      run.fns, counted)


def _end_group(run: SlotRun, step: StepInFlight | ForestStep, slots: range, model_version: int,
                rng: np.random.Generator, stats: SelfplayStats) -> None:
    """Finish one group's search step and play the move of every search that is done."""
    if isinstance(step, ForestStep):
        end_forest_step(step, rng)
    else:
        end_step(step, rng)
    for i in slots:
        if run.slots[i] is not None and run.slots[i].search.done:
            _play_searched(run, run.slots[i], model_version, rng, stats)


def _next_version(between_steps: Callable[[], int], pipelined: bool, poll: Future | None,
                  model_version: int) -> tuple[int, Future | None]:
    """The model version that plays the next step, and the pending ``between_steps`` call.

    Pipelined, the other group's network call may be running: new weights are loaded on the
    network thread, between two calls, and the version of the latest finished call counts.
    """
    if not pipelined:
        return between_steps(), poll
    if poll is None or poll.done():
        model_version = model_version if poll is None else poll.result()
        poll = network_thread().submit(between_steps)
    return model_version, poll


def _collect(run: SlotRun, finished: list[_Slot], stats: SelfplayStats, t0: float
             ) -> tuple[SampleBatch, SelfplayStats]:
    """The finished games' samples, and ``stats`` completed."""
    batch = _to_batch(run.game, finished, run.cfg.value_target_q_weight)
    stats.games, stats.samples = len(finished), len(batch)
    stats.capped_games = sum(1 for s in finished if s.state.is_active)
    stats.winners = [s.state.winner for s in finished]
    stats.seconds = time.perf_counter() - t0
    return batch, stats


def play_games(game: GameConfig, evaluate: EvaluateFn, search: SearchConfig,
               cfg: SelfplayConfig, rng: np.random.Generator, *, model_version: int = 0,
               first_game_id: int = 0) -> tuple[SampleBatch, SelfplayStats]:
    """Play ``cfg.games_per_batch`` games to the end (a `SlotRun` that starts no more) and
    return their samples; arguments as `new_run` / `play_steps`. Game ids are
    ``first_game_id + i``."""
    run = new_run(game, search, cfg, first_game_id=first_game_id,
                  max_games=cfg.games_per_batch)
    return play_steps(run, evaluate, rng, model_version=model_version,
                      min_games=cfg.games_per_batch)


def _advance(run: SlotRun, i: int, rng: np.random.Generator, finished: list,
             stats: SelfplayStats) -> None:
    """Bring slot ``i`` to a search in flight: apply forced moves, hand a finished game to
    ``finished`` and start a new one in its slot (while games are left)."""
    cfg = run.cfg
    while True:
        slot = run.slots[i]
        if slot is None:
            if run.games_left == 0:
                return
            run.slots[i] = slot = _Slot(new_game(run.game.board, run.game.players,
                                                 swap_rule=run.game.swap_rule),
                                        run.next_game_id)
            run.next_game_id += 1
            run.games_left = None if run.games_left is None else run.games_left - 1
        if slot.search is not None:
            return
        if not slot.state.is_active or slot.moves >= cfg.max_moves:
            finished.append(slot)
            run.slots[i] = None
            continue
        forced = forced_record(slot.state)
        if forced is not None:
            slot.state = apply_record(slot.state, forced)
            slot.moves += 1
            stats.moves += 1
            continue
        slot.full = bool(rng.random() < cfg.full_search_prob)
        search = run.full if slot.full else run.cheap
        if run.forests is None:
            slot.search = start_search(slot.state, run.fns, search)
            return
        g = int(i >= len(run.forests[0].status))
        forest, tree = run.forests[g], i - g * len(run.forests[0].status)
        restart_root(forest, tree, slot.state, search, rng, same_game=slot.decisions > 0)
        slot.search = TreeSearch(forest, tree)


def _play_searched(run: SlotRun, slot: _Slot, model_version: int, rng: np.random.Generator,
                   stats: SelfplayStats) -> None:
    """Record a finished full search (policy target top-k) and play its move."""
    res = slot.search.result()
    if slot.full:
        slot.records.append((slot.state.copy(), *_top_k(res.actions, res.policy,
                                                        run.cfg.policy_top_k),
                             res.root_value, model_version))
    stats.simulations += slot.search.sim  # new ones (a reused subtree's visits add to them)
    slot.state = run.fns.apply(slot.state, _choose(res, slot.decisions, run.cfg, rng))
    slot.search = None
    slot.decisions += 1
    slot.moves += 1
    stats.moves += 1
    stats.searched_moves += 1


def _top_k(actions: np.ndarray, probs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if len(actions) > k:
        keep = np.argpartition(-probs, k - 1)[:k]
        actions, probs = actions[keep], probs[keep]
    order = np.argsort(actions)
    probs = probs[order]
    return actions[order].astype(np.int32), (probs / probs.sum()).astype(np.float32)


def _choose(res, decision: int, cfg: SelfplayConfig, rng: np.random.Generator) -> int:
    """The action to play: sampled from the improved policy at ``cfg.temperature`` during
    the first ``cfg.temperature_moves`` decisions, else the sequential-halving winner."""
    if decision >= cfg.temperature_moves:
        return res.action
    p = res.policy ** (1.0 / cfg.temperature)
    return int(res.actions[rng.choice(len(p), p=p / p.sum())])


def _counting_leaves(evaluate, stats: SelfplayStats):
    """A `search.batched.LeafEvaluateFn` that counts its calls and positions."""
    def wrapped(pool, rows):
        stats.net_batches += 1
        stats.net_positions += len(rows)
        return evaluate(pool, rows)
    return wrapped


def _counting(evaluate: EvaluateFn, stats: SelfplayStats) -> EvaluateFn:
    def wrapped(states):
        stats.net_batches += 1
        stats.net_positions += len(states)
        return evaluate(states)
    return wrapped


def _to_batch(game: GameConfig, finished: list, q_weight: float = 0.0) -> SampleBatch:
    """Samples of finished games (`_Slot`s, in order) as one `SampleBatch`."""
    num_players = game.players
    states, indices, values, offsets, seat_values, meta = [], [], [], [0], [], []
    for slot in finished:
        final = slot.state
        by_player = (np.zeros(num_players) if final.is_active
                     else rank_values(ranks(final), num_players))
        for s, actions, probs, root_value, version in slot.records:
            states.append(s)
            indices.append(actions)
            values.append(probs)
            offsets.append(offsets[-1] + len(actions))
            v = np.zeros(SEATS, dtype=np.float32)
            target = (1.0 - q_weight) * by_player + q_weight * root_value[:num_players]
            v[:num_players] = values_to_seats(s, target)
            seat_values.append(v)
            meta.append((s.current_player, ply(s), slot.game_id, version))
    n = len(states)
    cells, scalars = compact(states) if n else compact(
        [new_game(game.board, num_players, swap_rule=game.swap_rule)])
    cells, scalars = cells[:n], scalars[:n]
    meta_arr = np.array(meta, dtype=np.int64).reshape(n, 4)
    return SampleBatch(
        board=game.board, players=num_players, cells=cells, scalars=scalars,
        policy_offsets=np.asarray(offsets, dtype=np.int64),
        policy_indices=np.concatenate(indices) if n else np.zeros(0, np.int32),
        policy_values=np.concatenate(values) if n else np.zeros(0, np.float32),
        values=np.asarray(seat_values, dtype=np.float32).reshape(n, SEATS),
        to_move=meta_arr[:, 0].astype(np.int8), ply=meta_arr[:, 1].astype(np.int32),
        game_id=meta_arr[:, 2], model_version=meta_arr[:, 3].astype(np.int32))
