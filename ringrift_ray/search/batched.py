"""The compiled batched search: `search.gumbel`'s algorithm over B trees held in one set of
arrays (a `Forest`), with no Python loop over trees or nodes inside a simulation step.

Legend: ``B`` trees, ``M`` nodes per tree (largest budget + 1), ``E`` edge slots per tree
(grown by doubling), ``W`` int32 words of a move record, ``P`` players, ``A`` actions,
``n`` leaves of one step.

A step (`begin_forest_step` / `end_forest_step`, like `search.begin_step` / `end_step`):

1. ``select_leaves`` (one compiled call): every tree walks from its root to a new leaf
   (root: Gumbel sequential halving; interior: the deterministic improved-policy rule).
2. ``game.apply`` (one batched rules call): each leaf's state row = its parent's row with the
   edge's move record applied; the live leaves go to ``evaluate`` on `network_thread`.
3. ``game.legal`` (one batched rules call, beside the network call): the live leaves' legal
   actions and move records, straight into the edge pool.
4. ``expand_and_backup`` (one compiled call): prior logits and values into the leaves, root
   Gumbel noise and halving schedules, one backed-up max^n value vector per tree.

Game states are rows of the game's own state pool (row ``b * M + i`` holds node ``i`` of
tree ``b``), not Python objects, and the game plugs in through `CompiledGame` (this module
never imports the rules or the network). RingRift (`search.game_kernels`) builds Python
objects only for a finished game's ranks and for an evaluator that wants states. The answers equal
`search.gumbel`'s for the same roots, network and Gumbel noise, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ringrift_ray.config import SearchConfig
from ringrift_ray.search.batched_kernels import (
    DONE,
    IDLE,
    NEW,
    expand_and_backup,
    select_leaves,
    split_live,
)
from ringrift_ray.search.gumbel import SearchResult, network_thread, root_result
from ringrift_ray.search.selection import _child_stats

Pool = Any  # the game's state rows, opaque to the search
LeafEvaluateFn = Callable[[Pool, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``evaluate(pool, rows [n]) -> (logits [n, A], values [n, P] in [-1, 1], absolute seats)``."""


class CompiledGame(NamedTuple):
    """The game as the compiled search sees it: state rows in a pool, batched kernels.

    Attributes:
        num_players: P.
        record_width: W, int32 words of the move record stored on each edge.
        new_pool: ``rows -> pool`` with room for ``rows`` states.
        load: ``(pool, row, state) -> None`` copies a live state into a row; raises
            ``ValueError`` for a finished game.
        apply: ``(pool, parent_rows [n], rows [n], records [n, W]) -> finished [n] bool``:
            row = parent row with the record applied (``parent < 0``: the row is a loaded
            root, left as it is); whether each row is a finished game.
        legal: ``(pool, rows [n], trees [n], edge_top [B], edge_action [B, E],
            edge_payload [B, E, W], first [n], count [n], to_play [n]) -> done`` writes each
            row's legal actions and records at ``edge_top[tree]`` (advancing it) and the seat
            to move; stops before the first row whose edges do not fit and returns how many
            rows it did.
        terminal_values: ``(pool, rows [t]) -> [t, P]`` exact values of finished games.
        edges_per_node: legal actions of a busy node (sizes the first edge pool).
        move_rows: ``(pool, src [n], dst [n]) -> None`` copies row ``src[j]`` to ``dst[j]``
            in order ``j = 0..n-1`` (``dst[j] <= src[j]``, both increasing: in place is
            safe); needed by subtree reuse only (`search.reuse`).
        find_row: ``(pool, rows [n], state) -> int`` index ``j`` of the first row that
            holds ``state``, -1 if none; needed by subtree reuse only.
    """

    num_players: int
    record_width: int
    new_pool: Callable[[int], Pool]
    load: Callable[[Pool, int, Any], None]
    apply: Callable[..., np.ndarray]
    legal: Callable[..., int]
    terminal_values: Callable[[Pool, np.ndarray], np.ndarray]
    edges_per_node: int = 64
    move_rows: Callable[..., None] | None = None
    find_row: Callable[[Pool, np.ndarray, Any], int] | None = None


@dataclass
class Forest:
    """B search trees in one set of arrays (see `search.tree` for the per-tree meaning).

    Node arrays ``[B, M]``: ``visits``, ``to_play``, ``terminal``, ``edge_start``,
    ``edge_count``; ``value_sum`` / ``raw_value`` ``[B, M, P]``. Edge arrays ``[B, E]``:
    ``edge_action`` (int32), ``edge_logit`` (float64, max-shifted), ``edge_child`` (int32, -1:
    none), ``edge_payload [B, E, W]`` (the game's move records). Per tree ``[B]``: ``status``
    (`batched_kernels.IDLE` / ``NEW`` / ``SEARCHING`` / ``DONE``), ``sim``, ``budget``,
    ``considered`` (k), ``gumbel_scale``, ``num_nodes``, ``edge_top``; ``schedule [B, M]``
    and root ``gumbel [B, E]`` / ``root_base [B, E]`` (by root edge offset: the noise, and
    the visits a reused subtree brought: `search.reuse`); ``path [B, M]`` / ``depth [B]`` of
    the step's selections.
    ``nodes`` is M, ``pool`` the game's state rows (row ``b * M + i`` holds node ``[b, i]``).
    """

    game: CompiledGame
    cfg: SearchConfig
    pool: Pool
    nodes: int
    visits: np.ndarray
    value_sum: np.ndarray
    raw_value: np.ndarray
    to_play: np.ndarray
    terminal: np.ndarray
    edge_start: np.ndarray
    edge_count: np.ndarray
    edge_action: np.ndarray
    edge_logit: np.ndarray
    edge_child: np.ndarray
    edge_payload: np.ndarray
    gumbel: np.ndarray
    root_base: np.ndarray
    schedule: np.ndarray
    status: np.ndarray
    sim: np.ndarray
    budget: np.ndarray
    considered: np.ndarray
    gumbel_scale: np.ndarray
    num_nodes: np.ndarray
    edge_top: np.ndarray
    path: np.ndarray
    depth: np.ndarray
    leaf: np.ndarray  # [7, B] work rows: tree, node, row, parent row, live, live row, live tree
    leaf_record: np.ndarray  # [B, W] int32: the record of the edge to each leaf

    @property
    def num_trees(self) -> int:
        return len(self.status)


def new_forest(game: CompiledGame, num_trees: int, max_simulations: int, cfg: SearchConfig,
               edge_capacity: int = 0) -> Forest:
    """An idle forest of ``num_trees`` trees for budgets up to ``max_simulations``.

    ``cfg`` fixes ``c_visit``, ``c_scale`` and ``rescale_values`` for every tree;
    ``edge_capacity`` is the initial E (default ``game.edges_per_node * M``; it grows as
    needed). M is ``max_simulations + 1``, twice that with ``cfg.subtree_reuse`` (a reused
    subtree keeps up to ``M - budget`` nodes). Memory is touched only as trees use it.
    """
    b, p = num_trees, game.num_players
    m = (2 if cfg.subtree_reuse else 1) * max_simulations + 1
    e = edge_capacity or game.edges_per_node * m
    i64, f64, i32 = np.int64, np.float64, np.int32
    z = np.zeros
    return Forest(
        game=game, cfg=cfg, pool=game.new_pool(b * m), nodes=m,
        visits=z((b, m), i64), value_sum=z((b, m, p), f64), raw_value=z((b, m, p), f64),
        to_play=z((b, m), i64), terminal=z((b, m), bool), edge_start=z((b, m), i64),
        edge_count=z((b, m), i64), edge_action=z((b, e), i32), edge_logit=z((b, e), f64),
        edge_child=z((b, e), i32), edge_payload=z((b, e, game.record_width), i32),
        gumbel=z((b, e), f64), root_base=z((b, e), i64), schedule=z((b, m), i64),
        status=z(b, i64), sim=z(b, i64), budget=z(b, i64), considered=z(b, i64),
        gumbel_scale=z(b, f64), num_nodes=z(b, i64),
        edge_top=z(b, i64), path=z((b, m), i64), depth=z(b, i64), leaf=z((7, b), i64),
        leaf_record=z((b, game.record_width), i32))


def start_root(forest: Forest, tree: int, state: Any, cfg: SearchConfig,
               num_simulations: int | None = None) -> None:
    """Load ``state`` as the root of tree ``tree`` (any previous search there is dropped)
    with budget ``num_simulations`` (default ``cfg.num_simulations``); the next step
    expands it.

    Raises:
        ValueError: a finished game, a budget beyond the forest's, or ``cfg`` differing from
            the forest's in ``c_visit`` / ``c_scale`` / ``rescale_values``.
    """
    f, keep = forest, ("c_visit", "c_scale", "rescale_values")
    if any(getattr(cfg, k) != getattr(f.cfg, k) for k in keep):
        raise ValueError(f"search parameters {keep} must match the forest's")
    budget = cfg.num_simulations if num_simulations is None else int(num_simulations)
    if not 1 <= budget < f.nodes:
        raise ValueError(f"budget {budget} outside 1..{f.nodes - 1}")
    f.game.load(f.pool, tree * f.nodes, state)
    f.status[tree], f.sim[tree], f.num_nodes[tree], f.edge_top[tree] = NEW, 0, 1, 0
    f.budget[tree], f.considered[tree] = budget, cfg.max_num_considered_actions
    f.gumbel_scale[tree] = cfg.gumbel_scale
    f.visits[tree], f.value_sum[tree], f.terminal[tree] = 0, 0.0, False
    f.edge_count[tree] = 0


@dataclass
class ForestStep:
    """A forest's step between `begin_forest_step` and `end_forest_step`: its leaves and the
    network call on the live ones (running on `network_thread`). Leaf arrays are ``[n]``."""

    forest: Forest
    tree: np.ndarray
    node: np.ndarray
    live: np.ndarray  # row of the leaf in the network call's outputs, -1: a finished game
    first: np.ndarray  # [m] by live row: first edge, edge count, seat to move
    count: np.ndarray
    to_play: np.ndarray
    exact: np.ndarray  # [n, P] exact values of finished games
    pending: Future | None


def begin_forest_step(forest: Forest, evaluate: LeafEvaluateFn) -> ForestStep:
    """Select a leaf in every unfinished tree, create the leaves' states, submit ONE
    ``evaluate`` call on the live ones to `network_thread` and, meanwhile, generate their
    legal actions. The forest must not be touched until `end_forest_step`."""
    f, g = forest, forest.game
    tree, node, rows, parent_rows, live, live_rows, live_trees = f.leaf
    n = select_leaves(f.status, f.sim, f.schedule, f.gumbel, f.root_base, f.num_nodes, f.visits,
                      f.value_sum, f.raw_value, f.to_play, f.terminal, f.edge_start,
                      f.edge_count, f.edge_child, f.edge_logit, f.cfg.c_visit, f.cfg.c_scale,
                      f.cfg.rescale_values, f.path, f.depth, f.edge_payload, tree, node, rows,
                      parent_rows, f.leaf_record)
    finished = g.apply(f.pool, parent_rows[:n], rows[:n], f.leaf_record[:n])
    m = split_live(finished, rows[:n], tree[:n], live, live_rows, live_trees)
    pending = network_thread().submit(evaluate, f.pool, live_rows[:m]) if m else None
    out = np.zeros((3, n), dtype=np.int64)  # first edge, edge count, seat to move
    _legal(f, live_rows[:m], live_trees[:m], *out[:, :m])
    exact = np.zeros((n, g.num_players))
    if m < n:
        exact[finished] = g.terminal_values(f.pool, rows[:n][finished])
    return ForestStep(f, tree[:n].copy(), node[:n].copy(), live[:n].copy(), *out, exact,
                      pending)


def _legal(f: Forest, rows, trees, first, count, to_play) -> None:
    """``game.legal`` on the live leaves, growing the edge pool until all fit; the outputs
    are in live-leaf order (``ForestStep`` indexes them by ``live``)."""
    done = 0
    while done < len(rows):
        done += f.game.legal(f.pool, rows[done:], trees[done:], f.edge_top, f.edge_action,
                             f.edge_payload, first[done:], count[done:], to_play[done:])
        if done < len(rows):
            _grow_edges(f)


def _grow_edges(f: Forest) -> None:
    """Double E, keeping every tree's edges (untouched pages of the zeroed arrays cost no
    memory; a node's edges are initialized when it is expanded)."""
    e, used = f.edge_action.shape[1], int(f.edge_top.max())
    for name in ("edge_action", "edge_logit", "edge_child", "edge_payload", "gumbel",
                 "root_base"):
        old = getattr(f, name)
        new = np.zeros((old.shape[0], 2 * e, *old.shape[2:]), dtype=old.dtype)
        new[:, :used] = old[:, :used]
        setattr(f, name, new)


def end_forest_step(step: ForestStep, rng: np.random.Generator) -> None:
    """Wait for the step's network call, expand its leaves (new roots draw their Gumbel
    noise from ``rng``, in tree order, as `search.end_step` does) and back up one simulation
    per searched tree.

    Raises:
        ValueError: a root has no legal action.
        Any error of the ``evaluate`` call.
    """
    f = step.forest
    logits, values = (np.zeros((0, 1), np.float32), np.zeros((0, 1))) if step.pending is None \
        else step.pending.result()
    values = np.asarray(values, dtype=np.float64)
    if values.shape[1] != f.game.num_players:  # one value for every seat
        values = np.ascontiguousarray(np.broadcast_to(values, (len(values),
                                                               f.game.num_players)))
    roots = step.node == 0
    counts = step.count[step.live[roots]]  # roots are live: loaded states are not finished
    if (counts == 0).any():
        raise ValueError(f"root {step.tree[roots][counts == 0][0]} has no legal action")
    noise = rng.gumbel(size=int(counts.sum())) if len(counts) else np.zeros(0)
    expand_and_backup(step.tree, step.node, step.live, step.first, step.count, step.to_play,
                      step.exact, np.asarray(logits), values,
                      f.edge_action, f.edge_child, f.edge_logit, f.edge_start, f.edge_count,
                      f.raw_value, f.to_play, f.terminal, f.status, f.sim, f.budget,
                      f.considered, f.schedule, f.gumbel, f.gumbel_scale, noise, f.root_base,
                      f.path, f.depth, f.visits, f.value_sum)


def tree_result(forest: Forest, tree: int) -> SearchResult:
    """The `SearchResult` of tree ``tree`` (its search finished: status ``DONE``). After
    subtree reuse its visits, Q-values, improved policy and root value count every visit of
    the tree; the acted move is the halving winner among this search's visits."""
    f = forest
    s, c = int(f.edge_start[tree, 0]), int(f.edge_count[tree, 0])
    p = int(f.to_play[tree, 0])
    visits, q = _child_stats(f.edge_child[tree, s:s + c], f.visits[tree], f.value_sum[tree], p)
    return root_result(f.edge_action[tree, s:s + c].astype(np.int64), f.edge_logit[tree, s:s + c],
                       visits, q, f.raw_value[tree, 0], f.value_sum[tree, 0],
                       int(f.visits[tree, 0]), p, f.gumbel[tree, :c], c > 1, f.cfg,
                       halving=visits - f.root_base[tree, :c])


@dataclass
class TreeSearch:
    """One root's search in a forest: selfplay's handle, with `search.RootSearch`'s face."""

    forest: Forest
    index: int

    @property
    def done(self) -> bool:
        return bool(self.forest.status[self.index] == DONE)

    @property
    def sim(self) -> int:  # simulations done so far
        return int(self.forest.sim[self.index])

    @property
    def num_nodes(self) -> int:
        return int(self.forest.num_nodes[self.index])

    def result(self) -> SearchResult:
        return tree_result(self.forest, self.index)


def batched_search(roots: Sequence[Any], game: CompiledGame, evaluate: LeafEvaluateFn,
                   cfg: SearchConfig, rng: np.random.Generator,
                   budgets: Sequence[int] | None = None, forest: Forest | None = None
                   ) -> list[SearchResult]:
    """`search.gumbel_search` on a forest: the same arguments and results (no pipelining).
    ``forest``: reuse this one (its trees and budgets must suffice; a new one otherwise).

    Raises:
        ValueError: a root is terminal or has no legal action, or ``budgets`` has the wrong
            length or a budget below 1.
    """
    if budgets is not None and (len(budgets) != len(roots) or min(budgets, default=1) < 1):
        raise ValueError(f"budgets must be {len(roots)} integers >= 1, got {budgets}")
    budgets = [cfg.num_simulations] * len(roots) if budgets is None else list(budgets)
    if forest is None:
        forest = new_forest(game, len(roots), max(budgets, default=1), cfg)
    forest.status[:] = IDLE
    for b, (root, n) in enumerate(zip(roots, budgets, strict=True)):
        start_root(forest, b, root, cfg, n)
    while (forest.status != DONE).any():
        end_forest_step(begin_forest_step(forest, evaluate), rng)
    return [tree_result(forest, b) for b in range(len(roots))]
