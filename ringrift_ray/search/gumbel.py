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
on `network_thread` while this thread generates the leaves' legal actions. `begin_step` /
`end_step` (together: `search_step`) expose the steps, so continuous selfplay can start new
roots while others are mid-search, and two groups of searches can alternate (pipelining:
one group's tree and rules work runs during the other's network call). A root with a single
legal action is not searched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

import numpy as np

from ringrift_ray.config import SearchConfig
from ringrift_ray.search.selection import (
    completed_qvalues,
    interior_choice,
    node_stats,
    root_choice,
    visit_schedule,
)
from ringrift_ray.search.tree import Tree

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


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


@cache
def network_thread() -> ThreadPoolExecutor:
    """The one thread (per process) that runs ``evaluate`` calls, in submission order, while
    the caller's thread does tree and rules work (ONNX Runtime and torch release the GIL
    inside a network call). Anything that must not overlap a network call (loading new
    weights) can be submitted to it too."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="search-network")


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


@dataclass
class StepInFlight:
    """A search step between `begin_step` and `end_step`: the selected paths and the
    network call on their live leaves (running on `network_thread`)."""

    searches: Sequence[RootSearch]
    paths: list  # (index into searches, path of node ids) per unfinished search
    owners: list  # index into paths of each new leaf
    terminal: list  # exact values [P] of each new leaf, None while live
    actions: list  # legal actions [L] of each live leaf (None: terminal)
    pending: Future | None  # the network call: (logits [n, A], values [n, P])


def begin_step(searches: Sequence[RootSearch], game: GameFns,
               evaluate: EvaluateFn) -> StepInFlight:
    """Select one leaf per unfinished search (an unexpanded root is its own leaf), submit
    ONE ``evaluate`` call on the live leaves to `network_thread` and, meanwhile, generate
    their legal actions. The trees must not be touched until `end_step`."""
    paths, leaves, terminal, owners = [], [], [], []
    for k, s in enumerate(searches):
        if s.done:
            continue
        path, leaf, exact = ([0], s.tree.states[0], None) if s.tree.edge_count[0] == 0 \
            else _simulate(s.tree, s.gumbel, s.sim, game, s.cfg)
        paths.append((k, path))
        if leaf is not None:
            leaves.append(leaf)
            terminal.append(exact)
            owners.append(len(paths) - 1)
    live = [leaf for leaf, t in zip(leaves, terminal, strict=True) if t is None]
    pending = network_thread().submit(evaluate, live) if live else None
    actions = [None if t is not None else np.asarray(game.legal_actions(leaf), dtype=np.int64)
               for leaf, t in zip(leaves, terminal, strict=True)]
    return StepInFlight(searches, paths, owners, terminal, actions, pending)


def end_step(step: StepInFlight, rng: np.random.Generator) -> None:
    """Wait for the step's network call, expand its leaves (new roots draw their Gumbel
    noise from ``rng``, in order) and back up one simulation per searched tree.

    Raises:
        ValueError: a root has no legal action.
        Any error of the ``evaluate`` call.
    """
    batch_logits, batch_values = (None, None) if step.pending is None else map(
        np.asarray, step.pending.result())
    searches, paths, live = step.searches, step.paths, 0
    value_of_path: dict[int, np.ndarray] = {}
    for j, i in enumerate(step.owners):
        k, path = paths[i]
        s, node, actions = searches[k], path[-1], step.actions[j]
        if actions is None:  # a finished game: exact values, no expansion
            s.tree.terminal[node] = True
            s.tree.raw_value[node] = value_of_path[i] = step.terminal[j]
            continue
        logits = batch_logits[live, actions].astype(np.float64)
        value_of_path[i] = value = batch_values[live].astype(np.float64)
        live += 1
        if len(path) == 1:  # a root expansion
            if len(actions) == 0:
                raise ValueError(f"root {k} has no legal action")
            s.tree.expand(0, actions, logits, value)
            s.gumbel = s.cfg.gumbel_scale * rng.gumbel(size=len(actions))
        else:
            s.tree.expand(node, actions, logits, value)
    for i, (k, path) in enumerate(paths):
        if len(path) > 1:  # back up a simulation
            tree, v = searches[k].tree, value_of_path.get(i, searches[k].tree.raw_value[path[-1]])
            tree.visits[path] += 1
            tree.value_sum[path] += v
            searches[k].sim += 1


def search_step(searches: Sequence[RootSearch], game: GameFns, evaluate: EvaluateFn,
                rng: np.random.Generator) -> None:
    """Advance every unfinished search by one step with at most one ``evaluate`` call on all
    their leaves: an unexpanded root is expanded (and draws its Gumbel noise from ``rng``,
    in order), any other search runs one simulation. Searches may have different budgets.
    (`begin_step` then `end_step`.)

    Raises:
        ValueError: a root has no legal action.
    """
    end_step(begin_step(searches, game, evaluate), rng)


def gumbel_search(roots: Sequence[State], game: GameFns, evaluate: EvaluateFn,
                  cfg: SearchConfig, rng: np.random.Generator,
                  budgets: Sequence[int] | None = None, pipeline: bool = False
                  ) -> list[SearchResult]:
    """Search ``B = len(roots)`` live positions at once.

    Args:
        roots: B non-terminal states; game: the game functions.
        evaluate: the network (or any oracle), called once per simulation step on all leaves
            (``1 + max budget`` calls at most: the roots, then one per simulation).
        cfg: search parameters; rng: source of the root Gumbel noise.
        budgets: `[B]` simulations per root (default: ``cfg.num_simulations`` for all); a
            root with budget n is searched exactly as alone with ``num_simulations = n``.
        pipeline: search the roots in two halves whose steps alternate, so one half's
            network call runs while the other half's tree and rules work is done (two calls
            of about B/2 per step). The results are the same as without.

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
    half = (len(searches) + 1) // 2
    groups = [searches[:half], searches[half:]] if pipeline and len(searches) > 1 else [searches]
    steps = [begin_step(g, game, evaluate) for g in groups]
    while steps:  # one group's end_step runs while the next group's network call runs
        step = steps.pop(0)
        end_step(step, rng)
        if not all(s.done for s in step.searches):
            steps.append(begin_step(step.searches, game, evaluate))
    return [s.result() for s in searches]


def _simulate(tree: Tree, gumbel: np.ndarray, sim: int, game: GameFns, cfg: SearchConfig):
    """Select from the root to a new leaf; returns (path of node ids, leaf state or None when
    the path ends on an already known terminal node, the new leaf's exact values `[P]` if it
    is a finished game else None)."""
    k = min(cfg.max_num_considered_actions, int(tree.edge_count[0]))
    considered_visit = visit_schedule(k, cfg.num_simulations)[sim]
    e = root_choice(tree, gumbel, considered_visit, cfg)
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
        e = interior_choice(tree, node, cfg)


def _result(tree: Tree, gumbel: np.ndarray, searched: bool, cfg: SearchConfig) -> SearchResult:
    e = tree.edges(0)
    visits, q = node_stats(tree, 0)
    return root_result(tree.edge_action[e].copy(), tree.edge_logit[e], visits, q,
                       tree.raw_value[0], tree.value_sum[0], int(tree.visits[0]),
                       int(tree.to_play[0]), gumbel, searched, cfg)


def root_result(actions: np.ndarray, logits: np.ndarray, visits: np.ndarray, q: np.ndarray,
                raw_value: np.ndarray, value_sum: np.ndarray, num_visits: int, to_play: int,
                gumbel: np.ndarray, searched: bool, cfg: SearchConfig,
                halving: np.ndarray | None = None) -> SearchResult:
    """The `SearchResult` of a root from its statistics (shared by `search.batched`).

    Args:
        actions, logits, visits, q, gumbel: `[L]` per root edge (logits max-shifted).
        raw_value, value_sum: `[P]` the root's network value and summed backed-up values.
        num_visits: the root's visit count N; to_play: its seat to move.
        searched: False for a root with one legal action (not searched).
        halving: `[L]` this search's visits per edge, among whose largest the acted move is
            chosen (default ``visits``; smaller after subtree reuse: `search.reuse`).
    """
    if not searched:
        return SearchResult(int(actions[0]), actions, np.ones(1), visits, q, raw_value.copy(),
                            False)
    sigma = completed_qvalues(logits, visits, q, raw_value[to_play], cfg)
    policy = _softmax(logits + sigma)
    halving = visits if halving is None else halving
    score = np.where(halving == halving.max(), gumbel + logits + sigma, -np.inf)
    action = int(actions[int(np.argmax(score))])
    root_value = (raw_value + value_sum) / (1 + num_visits)  # mctx
    return SearchResult(action, actions, policy, visits, q, root_value, True)
