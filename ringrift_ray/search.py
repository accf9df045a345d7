"""Batched Gumbel MuZero search for 2-4 players (Danihelka et al., "Policy improvement by
planning with Gumbel", ICLR 2022; names follow mctx's ``gumbel_muzero_policy``).

Legend: ``B`` games searched together, ``A`` actions (fixed per board), ``P`` players,
``L`` legal actions of one node, ``M`` nodes per tree (``num_simulations + 1``).

Algorithm (per game):
- Root: the network's logits over legal actions, Gumbel noise ``g`` (scaled by
  ``gumbel_scale``); sequential halving over ``num_simulations`` among the
  Gumbel-top-``k`` actions (``k = max_num_considered_actions``), each simulation choosing
  ``argmax(g + logits + sigma(q_hat))`` among actions whose visit count equals the
  schedule's current count (§4, ``visit_schedule``). The acted move is the halving winner:
  the same score among the most-visited actions.
- Completed Q-values (§4 / App. D): visited actions keep their Q; unvisited ones get the
  mixed value ``(v + sum_b N(b) * sum_b pi(b) q(b) / sum_b pi(b)) / (1 + sum_b N(b))``
  (sums over visited b). With ``rescale_values`` they are min-max normalized per node to
  [0, 1]; then ``sigma(q_hat) = (c_visit + max_b N(b)) * c_scale * q_hat``.
- Improved policy = ``softmax(logits + sigma(completed Q))`` over legal actions; it is the
  policy training target.
- Interior nodes: deterministic ``argmax(pi'(a) - N(a) / (1 + sum_b N(b)))`` with
  ``pi' = softmax(logits + sigma(completed Q))`` (§5).

Values: vectors ``[P]`` in [-1, 1], one per seat in absolute seat order. A node's Q for an
action is the child's mean value component of the player to move at the node (max^n), so
consecutive decisions by one player need no special case. As in mctx, a node's value is the
mean over its visits with its own network value as the first visit (a child's expansion is
that visit; ``SearchResult.root_value`` adds it for the root). Terminal nodes use the exact
values given by ``GameFns.terminal_values``.

Batching: each simulation step walks all B trees to a leaf and evaluates every non-terminal
leaf with one ``EvaluateFn`` call (the network; this module never imports it). The call runs
on a second thread while this one generates the leaves' legal actions, so the rules' share
of a step overlaps the network's.
`start_search` / `search_step` expose the steps, so continuous selfplay can start new roots
while others are mid-search. A root with a single legal action is not searched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

import numba
import numpy as np

from ringrift_ray.config import SearchConfig
from ringrift_ray.search_tree import Tree

State = Any
EvaluateFn = Callable[[Sequence[State]], tuple[np.ndarray, np.ndarray]]
"""``evaluate(states) -> (logits [B, A] float, values [B, P] float in [-1, 1], absolute seats)``."""


class GameFns(NamedTuple):
    """The game as search sees it (pure functions over opaque states).

    Attributes:
        num_players: P.
        legal_actions: ``state -> [L] int`` action indices (non-empty for a live state).
        apply: ``(state, action) -> state`` (pure).
        to_play: ``state -> int`` seat (0-based) of the player to move.
        terminal_values: ``state -> [P] float`` exact values if the game is over, else None.
    """

    num_players: int
    legal_actions: Callable[[State], np.ndarray]
    apply: Callable[[State, int], State]
    to_play: Callable[[State], int]
    terminal_values: Callable[[State], np.ndarray | None]


@dataclass
class SearchResult:
    """Search output for one game.

    Attributes:
        action: the acted move (action index).
        actions: `[L]` legal actions of the root.
        policy: `[L]` improved policy over ``actions`` (sums to 1), the policy target.
        visits: `[L]` root visit counts.
        qvalues: `[L]` root Q-values for the player to move (0 where unvisited).
        root_value: `[P]` root value estimate, one per seat in [-1, 1]: mctx's convention
            (``search.update_tree_node`` / ``backward``), the root's own network value
            counted as its first visit, ``(v_root + sum of backed-up values) / (1 + N)``
            over the N simulations; the network value alone when not searched.
        searched: False when the root had one legal action (no simulation was run).
    """

    action: int
    actions: np.ndarray
    policy: np.ndarray
    visits: np.ndarray
    qvalues: np.ndarray
    root_value: np.ndarray
    searched: bool


@cache
def visit_schedule(max_num_considered_actions: int, num_simulations: int) -> tuple[int, ...]:
    """Sequential-halving schedule: the visit count an action must have to be chosen at each
    simulation (paper §4). Rounds give every considered action
    ``max(1, floor(n / (ceil(log2 k) * m)))`` more visits, then halve ``m`` (never below 2)."""
    k = max_num_considered_actions
    if k <= 1:
        return tuple(range(num_simulations))
    rounds_log = math.ceil(math.log2(k))
    schedule: list[int] = []
    visits = [0] * k
    m = k
    while len(schedule) < num_simulations:
        extra = max(1, num_simulations // (rounds_log * m))
        for _ in range(extra):
            schedule.extend(visits[:m])
            for i in range(m):
                visits[i] += 1
        m = max(2, m // 2)
    return tuple(schedule[:num_simulations])


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


@numba.njit(cache=True)
def _sigma(logits, visits, q, raw_value, c_visit, c_scale, rescale):
    """sigma(completed Q) `[L]` from per-action visits and Q-values (see completed_qvalues)."""
    n = logits.shape[0]
    total = 0
    top = 0
    for i in range(n):
        total += visits[i]
        top = max(top, visits[i])
    mixed = raw_value
    if total > 0:
        m = logits.max()
        z = 0.0
        for i in range(n):
            z += np.exp(logits[i] - m)
        num = 0.0
        den = 0.0
        for i in range(n):
            if visits[i] > 0:
                pr = np.exp(logits[i] - m) / z
                num += pr * q[i]
                den += pr
        mixed = (raw_value + total * num / max(den, 1e-12)) / (total + 1)
    out = np.empty(n)
    for i in range(n):
        out[i] = q[i] if visits[i] > 0 else mixed
    if rescale:
        lo, hi = out.min(), out.max()
        out = (out - lo) / max(hi - lo, 1e-8)
    return (c_visit + top) * c_scale * out


@numba.njit(cache=True)
def _child_stats(children, node_visits, value_sum, player):
    n = children.shape[0]
    visits = np.zeros(n, dtype=np.int64)
    q = np.zeros(n)
    for i in range(n):
        ch = children[i]
        if ch >= 0 and node_visits[ch] > 0:
            visits[i] = node_visits[ch]
            q[i] = value_sum[ch, player] / node_visits[ch]
    return visits, q


@numba.njit(cache=True)
def _interior_kernel(logits, children, node_visits, value_sum, player, raw_value, c_visit,
                     c_scale, rescale):
    """argmax(pi'(a) - N(a) / (1 + sum N)), pi' = softmax(logits + sigma)."""
    visits, q = _child_stats(children, node_visits, value_sum, player)
    x = logits + _sigma(logits, visits, q, raw_value, c_visit, c_scale, rescale)
    x = np.exp(x - x.max())
    x /= x.sum()
    total = visits.sum()
    return np.argmax(x - visits / (1.0 + total))


@numba.njit(cache=True)
def _root_kernel(logits, children, node_visits, value_sum, player, raw_value, gumbel,
                 considered_visit, c_visit, c_scale, rescale):
    """argmax of g + logits + sigma among actions with ``considered_visit`` visits."""
    visits, q = _child_stats(children, node_visits, value_sum, player)
    sigma = _sigma(logits, visits, q, raw_value, c_visit, c_scale, rescale)
    best = -1
    best_score = -np.inf
    for i in range(logits.shape[0]):
        if visits[i] == considered_visit:
            score = max(-1e9, gumbel[i] + logits[i] + sigma[i])
            if score > best_score:
                best = i
                best_score = score
    return best


def _node_stats(tree: Tree, node: int) -> tuple[np.ndarray, np.ndarray]:
    """Child visit counts `[L]` and Q-values `[L]` for the node's player (0 if unvisited)."""
    return _child_stats(tree.edge_child[tree.edges(node)], tree.visits, tree.value_sum,
                        tree.to_play[node])


def completed_qvalues(logits: np.ndarray, visits: np.ndarray, q: np.ndarray, raw_value: float,
                      cfg: SearchConfig) -> np.ndarray:
    """``sigma(completed Q)`` for one node: `[L]` (paper App. D, mixed value completion).

    Args:
        logits: `[L]` prior logits of the legal actions.
        visits: `[L]` visit counts; q: `[L]` Q-values (ignored where unvisited).
        raw_value: the network value of the node for its player to move, in [-1, 1].
    """
    return _sigma(np.asarray(logits, dtype=np.float64), np.asarray(visits, dtype=np.int64),
                  np.asarray(q, dtype=np.float64), float(raw_value), cfg.c_visit, cfg.c_scale,
                  cfg.rescale_values)


def _interior_choice(tree: Tree, node: int, cfg: SearchConfig) -> int:
    """Edge offset chosen at a non-root node: argmax(pi'(a) - N(a) / (1 + sum N))."""
    e = tree.edges(node)
    p = tree.to_play[node]
    return int(_interior_kernel(tree.edge_logit[e], tree.edge_child[e], tree.visits,
                                tree.value_sum, p, tree.raw_value[node, p], cfg.c_visit,
                                cfg.c_scale, cfg.rescale_values))


def _root_choice(tree: Tree, gumbel: np.ndarray, considered_visit: int,
                 cfg: SearchConfig) -> int:
    e = tree.edges(0)
    p = tree.to_play[0]
    return int(_root_kernel(tree.edge_logit[e], tree.edge_child[e], tree.visits, tree.value_sum,
                            p, tree.raw_value[0, p], gumbel, considered_visit, cfg.c_visit,
                            cfg.c_scale, cfg.rescale_values))


@cache
def _network_thread() -> ThreadPoolExecutor:
    """The thread that runs ``evaluate`` while the caller's thread generates the leaves'
    legal actions (ONNX Runtime and torch release the GIL inside a network call)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="search-network")


def _leaf_values(states: list[State], terminal: list[np.ndarray | None], game: GameFns,
                 evaluate: EvaluateFn
                 ) -> tuple[list, list[np.ndarray | None], list[np.ndarray | None]]:
    """Legal actions, logits and values of leaf states (``terminal``: their exact values,
    None while live); terminal states skip the network. The network call runs on
    `_network_thread` while this thread generates the live leaves' legal actions."""
    live = [i for i, t in enumerate(terminal) if t is None]
    actions: list = [None] * len(states)
    logits: list = [None] * len(states)
    values: list = list(terminal)
    if live:
        pending = _network_thread().submit(evaluate, [states[i] for i in live])
        for i in live:
            actions[i] = np.asarray(game.legal_actions(states[i]), dtype=np.int64)
        batch_logits, batch_values = map(np.asarray, pending.result())
        for j, i in enumerate(live):
            logits[i] = batch_logits[j, actions[i]].astype(np.float64)
            values[i] = batch_values[j].astype(np.float64)
    return actions, logits, values


@dataclass
class RootSearch:
    """One root's search in flight: the stepwise form of `gumbel_search`.

    Attributes:
        tree: the search tree (node 0 is the root; expanded by the first `search_step`).
        cfg: search parameters; ``cfg.num_simulations`` is this root's budget.
        gumbel: `[L]` root Gumbel noise (empty until the root is expanded).
        sim: simulations done so far.
    """

    tree: Tree
    cfg: SearchConfig
    gumbel: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sim: int = 0

    @property
    def done(self) -> bool:  # expanded, and budget spent or a single legal action
        n = int(self.tree.edge_count[0])
        return n > 0 and (n == 1 or self.sim >= self.cfg.num_simulations)

    def result(self) -> SearchResult:
        """The `SearchResult` of a finished search (``done``)."""
        return _result(self.tree, self.gumbel, int(self.tree.edge_count[0]) > 1, self.cfg)


def start_search(root: State, game: GameFns, cfg: SearchConfig) -> RootSearch:
    """A `RootSearch` of ``root`` with budget ``cfg.num_simulations`` (not yet expanded).

    Raises:
        ValueError: the root is a terminal state.
    """
    if game.terminal_values(root) is not None:
        raise ValueError("root is a terminal state; nothing to search")
    tree = Tree(cfg.num_simulations + 1, game.num_players, 1024)
    tree.add_node(root, game.to_play(root))
    return RootSearch(tree, cfg)


def search_step(searches: Sequence[RootSearch], game: GameFns, evaluate: EvaluateFn,
                rng: np.random.Generator) -> None:
    """Advance every unfinished search by one step with at most one ``evaluate`` call on all
    their leaves: an unexpanded root is expanded (and draws its Gumbel noise from ``rng``,
    in order), any other search runs one simulation. Searches may have different budgets.

    Raises:
        ValueError: a root has no legal action.
    """
    paths, leaves, leaf_terminal, owners = [], [], [], []
    for k, s in enumerate(searches):
        if s.done:
            continue
        path, leaf, exact = ([0], s.tree.states[0], None) if s.tree.edge_count[0] == 0 \
            else _simulate(s.tree, s.gumbel, s.sim, game, s.cfg)
        paths.append((k, path))
        if leaf is not None:
            leaves.append(leaf)
            leaf_terminal.append(exact)
            owners.append(len(paths) - 1)
    leaf_actions, leaf_logits, leaf_values = _leaf_values(leaves, leaf_terminal, game,
                                                          evaluate)
    value_of_path: dict[int, np.ndarray] = {}
    for j, i in enumerate(owners):
        k, path = paths[i]
        s, node = searches[k], path[-1]
        if len(path) == 1:  # a root expansion
            if len(leaf_actions[j]) == 0:
                raise ValueError(f"root {k} has no legal action")
            s.tree.expand(0, leaf_actions[j], leaf_logits[j], leaf_values[j])
            s.gumbel = s.cfg.gumbel_scale * rng.gumbel(size=len(leaf_actions[j]))
        elif leaf_actions[j] is None:
            s.tree.terminal[node] = True
            s.tree.raw_value[node] = leaf_values[j]
        else:
            s.tree.expand(node, leaf_actions[j], leaf_logits[j], leaf_values[j])
        value_of_path[i] = leaf_values[j]
    for i, (k, path) in enumerate(paths):
        if len(path) > 1:  # back up a simulation
            tree, v = searches[k].tree, value_of_path.get(i, searches[k].tree.raw_value[path[-1]])
            tree.visits[path] += 1
            tree.value_sum[path] += v
            searches[k].sim += 1


def gumbel_search(roots: Sequence[State], game: GameFns, evaluate: EvaluateFn,
                  cfg: SearchConfig, rng: np.random.Generator,
                  budgets: Sequence[int] | None = None) -> list[SearchResult]:
    """Search ``B = len(roots)`` live positions at once.

    Args:
        roots: B non-terminal states; game: the game functions.
        evaluate: the network (or any oracle), called once per simulation step on all leaves
            (``1 + max budget`` calls at most: the roots, then one per simulation).
        cfg: search parameters; rng: source of the root Gumbel noise.
        budgets: `[B]` simulations per root (default: ``cfg.num_simulations`` for all); a
            root with budget n is searched exactly as alone with ``num_simulations = n``.

    Returns:
        One `SearchResult` per root.

    Raises:
        ValueError: a root is terminal or has no legal action, or ``budgets`` has the wrong
            length or a budget below 1.
    """
    if budgets is not None and (len(budgets) != len(roots) or min(budgets, default=1) < 1):
        raise ValueError(f"budgets must be {len(roots)} integers >= 1, got {budgets}")
    cfgs = [cfg] * len(roots) if budgets is None else [
        cfg.model_copy(update={"num_simulations": int(n)}) for n in budgets]
    searches = [start_search(s, game, c) for s, c in zip(roots, cfgs, strict=True)]
    while not all(s.done for s in searches):
        search_step(searches, game, evaluate, rng)
    return [s.result() for s in searches]


def _simulate(tree: Tree, gumbel: np.ndarray, sim: int, game: GameFns, cfg: SearchConfig):
    """Select from the root to a new leaf; returns (path of node ids, leaf state or None when
    the path ends on an already known terminal node, the new leaf's exact values `[P]` if it
    is a finished game else None)."""
    k = min(cfg.max_num_considered_actions, int(tree.edge_count[0]))
    considered_visit = visit_schedule(k, cfg.num_simulations)[sim]
    e = _root_choice(tree, gumbel, considered_visit, cfg)
    node, path = 0, [0]
    while True:
        edge = tree.edge_start[node] + e
        child = tree.edge_child[edge]
        if child < 0:
            state = game.apply(tree.states[node], int(tree.edge_action[edge]))
            exact = game.terminal_values(state)
            child = tree.add_node(state, game.to_play(state) if exact is None else 0)
            tree.edge_child[edge] = child
            path.append(child)
            return path, state, exact
        path.append(child)
        if tree.terminal[child]:
            return path, None, None
        node = child
        e = _interior_choice(tree, node, cfg)


def _result(tree: Tree, gumbel: np.ndarray, searched: bool, cfg: SearchConfig) -> SearchResult:
    actions = tree.edge_action[tree.edges(0)].copy()
    logits = tree.edge_logit[tree.edges(0)]
    visits, q = _node_stats(tree, 0)
    if not searched:
        return SearchResult(int(actions[0]), actions, np.ones(1), visits, q,
                            tree.raw_value[0].copy(), False)
    raw = tree.raw_value[0, tree.to_play[0]]
    sigma = completed_qvalues(logits, visits, q, raw, cfg)
    policy = _softmax(logits + sigma)
    score = np.where(visits == visits.max(), gumbel + logits + sigma, -np.inf)
    action = int(actions[int(np.argmax(score))])
    root_value = (tree.raw_value[0] + tree.value_sum[0]) / (1 + tree.visits[0])  # mctx
    return SearchResult(action, actions, policy, visits, q, root_value, True)
