"""Subtree reuse for the compiled batched search (`search.batched`): the node of the position
a game reached since its tree's last search becomes the next search's root, with its subtree
and statistics (AlphaGo Zero's "the search tree is reused at subsequent time-steps"; KataGo
does the same). Game-agnostic: the game finds and moves its own state rows
(`CompiledGame.find_row` / ``move_rows``).

Legend: ``B`` trees, ``M`` nodes per tree, ``E`` edge slots per tree, ``P`` players, ``L``
legal actions of the root, ``k`` nodes kept.

Why Gumbel makes it subtle (mctx issue #51: mctx always builds a fresh tree, since MuZero's
learned model makes a stored child only an approximation of the next root; an AlphaZero
with exact rules has no such excuse, and mctx PR #86 added ``get_subtree`` for it): the
root's sequential halving assumes that every considered action starts at zero visits, and
the policy-improvement guarantee rests on the Gumbel noise being drawn for this search. A
reused root arrives with visits the previous search's *interior* rule gave its children,
so here:

- interior nodes keep everything (visits, values, edges, states): the interior rule is a
  deterministic function of the statistics, so more visits only sharpen it;
- the root draws fresh Gumbel noise and runs a full halving schedule over
  ``num_simulations`` *new* simulations, counting only this search's visits per action
  (`Forest.root_base` holds the visits each root child brought); the reused visits add to
  the budget instead of counting toward it, so "equal simulations" means equal network
  evaluations per move;
- the completed Q-values, the improved policy (the training target), the Q-values and the
  root value read every visit, old and new; the acted move is the halving winner: the best
  ``g + logits + sigma`` among the actions with the most visits of this search.

The node is found by its state (`CompiledGame.find_row` over the tree's rows), so forced
moves, an opponent's reply or a transposition need no bookkeeping of the moves played. A
subtree larger than ``M - budget`` nodes keeps its first nodes in creation order (a prefix
is closed under parents; an ancestor's visits may then exceed its kept children's sum).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ringrift_ray.config import SearchConfig
from ringrift_ray.search.batched import Forest, start_root
from ringrift_ray.search.batched_kernels import DONE, SEARCHING, fill_schedule


@numba.njit(cache=True, nogil=True)
def compact_subtree(b, root, limit, num_nodes, visits, value_sum, raw_value, to_play, terminal,
                    edge_start, edge_count, edge_action, edge_logit, edge_child, edge_payload,
                    edge_top, kept):
    """Make node ``root`` of tree ``b`` node 0, keeping its subtree (at most ``limit`` nodes,
    the first in creation order) and dropping the rest of the tree, in place.

    Nodes keep their relative order (new id = rank among the kept), so a child still has a
    larger id than its parent, and their edges move to the front of the edge pool in node
    order (edge regions grow with node ids, so every copy moves data down: in place is
    safe). Slots past the kept nodes are cleared (visits, values, terminal, edge counts) for
    the next search. ``kept [M]`` receives the old ids of the kept nodes (``kept[new] =
    old``); returns k. The caller moves the state rows the same way.
    """
    n = num_nodes[b]
    new_id = np.full(n, -1, np.int64)
    marked = np.zeros(n, np.bool_)
    marked[root] = True
    k = 0
    for i in range(root, n):
        if not marked[i] or k >= limit:
            continue
        new_id[i] = k
        kept[k] = i
        k += 1
        if not terminal[b, i]:
            for e in range(edge_start[b, i], edge_start[b, i] + edge_count[b, i]):
                if edge_child[b, e] >= 0:
                    marked[edge_child[b, e]] = True
    top = 0
    for j in range(k):
        i = kept[j]
        visits[b, j] = visits[b, i]
        value_sum[b, j] = value_sum[b, i]
        raw_value[b, j] = raw_value[b, i]
        to_play[b, j] = to_play[b, i]
        terminal[b, j] = terminal[b, i]
        s, c = edge_start[b, i], edge_count[b, i]
        if terminal[b, i]:
            c = 0
        for t in range(c):
            edge_action[b, top + t] = edge_action[b, s + t]
            edge_logit[b, top + t] = edge_logit[b, s + t]
            edge_payload[b, top + t] = edge_payload[b, s + t]
            ch = edge_child[b, s + t]
            edge_child[b, top + t] = new_id[ch] if ch >= 0 else -1
        edge_start[b, j], edge_count[b, j] = top, c
        top += c
    for j in range(k, n):
        visits[b, j] = 0
        value_sum[b, j] = 0.0
        terminal[b, j] = False
        edge_count[b, j] = 0
    num_nodes[b], edge_top[b] = k, top
    return k


def reuse_root(forest: Forest, tree: int, state: Any, cfg: SearchConfig,
               rng: np.random.Generator, num_simulations: int | None = None) -> bool:
    """Start tree ``tree``'s next search at ``state`` on the subtree its last search built
    for it, if it has one: True, and the tree searches ``num_simulations`` (default
    ``cfg.num_simulations``) new simulations from a root that keeps its statistics, with
    fresh Gumbel noise from ``rng`` (module docstring); False (nothing changed) when the
    last search is not finished or has no node of ``state``: the caller starts a fresh root
    (`search.batched.start_root`).

    The tree's last search must have been of the same game (a position reached from it);
    ``cfg`` as in `search.batched.start_root`.

    Raises:
        ValueError: a budget beyond the forest's, ``cfg`` differing from the forest's in
            ``c_visit`` / ``c_scale`` / ``rescale_values``, or a game without ``find_row`` /
            ``move_rows``.
    """
    f, g, same = forest, forest.game, ("c_visit", "c_scale", "rescale_values")
    if g.find_row is None or g.move_rows is None:
        raise ValueError("subtree reuse needs a CompiledGame with find_row and move_rows")
    if any(getattr(cfg, key) != getattr(f.cfg, key) for key in same):
        raise ValueError(f"search parameters {same} must match the forest's")
    budget = cfg.num_simulations if num_simulations is None else int(num_simulations)
    if not 1 <= budget < f.nodes:
        raise ValueError(f"budget {budget} outside 1..{f.nodes - 1}")
    n, base = int(f.num_nodes[tree]), tree * f.nodes
    if f.status[tree] != DONE or n < 2:
        return False
    j = int(g.find_row(f.pool, np.arange(base + 1, base + n, dtype=np.int64), state))
    if j < 0 or f.terminal[tree, j + 1] or f.edge_count[tree, j + 1] == 0:
        return False
    kept = np.empty(f.nodes, dtype=np.int64)
    k = compact_subtree(tree, j + 1, f.nodes - budget, f.num_nodes, f.visits, f.value_sum,
                        f.raw_value, f.to_play, f.terminal, f.edge_start, f.edge_count,
                        f.edge_action, f.edge_logit, f.edge_child, f.edge_payload, f.edge_top,
                        kept)
    g.move_rows(f.pool, base + kept[:k], base + np.arange(k, dtype=np.int64))
    c = int(f.edge_count[tree, 0])
    children = f.edge_child[tree, :c]
    f.root_base[tree, :c] = np.where(children >= 0, f.visits[tree, np.maximum(children, 0)], 0)
    f.gumbel[tree, :c] = cfg.gumbel_scale * rng.gumbel(size=c)
    f.budget[tree], f.considered[tree] = budget, cfg.max_num_considered_actions
    f.gumbel_scale[tree], f.sim[tree] = cfg.gumbel_scale, 0
    fill_schedule(min(cfg.max_num_considered_actions, c), budget, f.schedule[tree])
    f.status[tree] = DONE if c == 1 else SEARCHING
    return True


def restart_root(forest: Forest, tree: int, state: Any, cfg: SearchConfig,
                 rng: np.random.Generator, num_simulations: int | None = None, *,
                 same_game: bool = True) -> bool:
    """The next search of tree ``tree``: `reuse_root` when ``cfg.subtree_reuse`` is on and
    ``same_game`` (the tree's last search was of this game), else (or when it finds no
    node) a fresh root (`search.batched.start_root`). Returns whether the subtree was reused.

    Raises:
        ValueError: as `search.batched.start_root`.
    """
    if cfg.subtree_reuse and same_game and reuse_root(forest, tree, state, cfg, rng,
                                                      num_simulations):
        return True
    start_root(forest, tree, state, cfg, num_simulations)
    return False
