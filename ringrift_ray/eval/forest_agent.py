"""A search agent's move choice on the compiled batched tree (`search.batched`), one tree per
game kept across the game's decisions, so a decision can start from the subtree the game's
previous search built (`search.reuse`, ``SearchConfig.subtree_reuse``).

Legend: ``B`` states handed to the agent at once, ``T`` trees of the agent's forest.

A game is known by its `GameState` object: `matches.play_match` applies every move to the
same object in place, so the state the agent sees at its next decision is the one it saw
at its last (moves by the other seats and forced moves applied in between); the node of
the new position is found in the old tree by its state (`CompiledGame.find_row`). Callers
that hand over fresh copies get fresh trees: the same moves, no reuse. A tree is freed when
its game's state object is garbage collected.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ringrift_ray.config import SearchConfig
from ringrift_ray.game import GameState
from ringrift_ray.search.batched import (
    Forest,
    begin_forest_step,
    end_forest_step,
    new_forest,
    tree_result,
)
from ringrift_ray.search.batched_kernels import DONE
from ringrift_ray.search.game_fns import cached_legal_actions, forced_record
from ringrift_ray.search.game_kernels import compiled_game, leaf_evaluate
from ringrift_ray.search.gumbel import EvaluateFn
from ringrift_ray.search.reuse import restart_root


@dataclass
class ForestStats:
    """What a forest agent did: searched decisions, how many started from a reused subtree,
    the visits those subtrees brought (their roots' visit counts), search seconds."""

    decisions: int = 0
    reused: int = 0
    reused_visits: int = 0
    seconds: float = 0.0


def forest_act(evaluate: EvaluateFn, num_players: int, cfg: SearchConfig,
               stats: ForestStats | None = None
               ) -> Callable[[Sequence[GameState], np.random.Generator], list[np.ndarray]]:
    """``act(states [B], rng) -> records [B]`` (`matches.ActFn`): `matches.search_agent`'s
    choice (the search's acted move; a single legal move played without search) with all B
    searches stepped together in one forest, reusing each game's subtree when
    ``cfg.subtree_reuse``.

    Args:
        evaluate: the network (values `[n, P]` in absolute seat order, as `search.EvaluateFn`).
        num_players: P.
        cfg: search parameters; ``num_simulations`` new simulations per decision.
        stats: updated by every call, when given (also ``act.stats``).
    """
    trees: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # game state -> tree
    leaf_eval = leaf_evaluate(evaluate)
    held: list[Forest] = []
    stats = ForestStats() if stats is None else stats

    def act(states, rng):
        out = [forced_record(s) for s in states]
        todo = [i for i, rec in enumerate(out) if rec is None]
        if not todo:
            return out
        t0 = time.perf_counter()
        board = states[todo[0]].board.name
        need = len(trees) + sum(1 for i in todo if states[i] not in trees)
        if not held or need > held[0].num_trees or held[0].pool.board.name != board:
            held[:] = [new_forest(compiled_game(board, num_players), max(16, 2 * need),
                                  cfg.num_simulations, cfg)]
            trees.clear()
        forest = held[0]
        free = sorted(set(range(forest.num_trees)) - set(trees.values()), reverse=True)
        searched = []
        for i in todo:
            tree = trees.get(states[i])
            same_game = tree is not None
            if tree is None:
                trees[states[i]] = tree = free.pop()
            if restart_root(forest, tree, states[i], cfg, rng, same_game=same_game):
                stats.reused += 1
                stats.reused_visits += int(forest.visits[tree, 0])
            searched.append(tree)
        while (forest.status[searched] != DONE).any():
            end_forest_step(begin_forest_step(forest, leaf_eval), rng)
        for i, tree in zip(todo, searched, strict=True):
            idx, recs = cached_legal_actions(states[i])
            out[i] = recs[int(np.flatnonzero(idx == tree_result(forest, tree).action)[0])]
        stats.decisions += len(todo)
        stats.seconds += time.perf_counter() - t0
        return out

    act.stats = stats
    return act
