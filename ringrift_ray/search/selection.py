"""Selection in batched Gumbel search (Danihelka et al., ICLR 2022; names follow mctx):
the sequential-halving visit schedule and Gumbel-top-k choice at the root (§4), completed
Q-values and sigma (App. D), the deterministic interior choice (§5). Numba kernels over one
`search_tree.Tree`; ``search.py`` holds the algorithm's overview and the batched steps.

Legend: ``L`` legal actions of one node.
"""

from __future__ import annotations

import math
from functools import cache

import numba
import numpy as np

from ringrift_ray.config import SearchConfig
from ringrift_ray.search.tree import Tree


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


@numba.njit(cache=True, nogil=True)
def sigma_into(logits, visits, q, raw_value, c_visit, c_scale, rescale, out):
    """sigma(completed Q) of one node (see completed_qvalues) into ``out[:L]`` from the
    per-action ``visits`` and ``q`` (first ``L`` entries read; scratch arrays may be longer);
    returns the node's total child visits. The one kernel behind `_sigma` and the compiled
    search's ``batched_kernels``, so both choose the same edges bit for bit."""
    n = logits.shape[0]
    total = 0
    top = 0
    for i in range(n):
        total += visits[i]
        top = max(top, visits[i])
    mixed = raw_value
    if total > 0:
        m = logits[0]
        for i in range(1, n):
            m = max(m, logits[i])
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
    for i in range(n):
        out[i] = q[i] if visits[i] > 0 else mixed
    if rescale:
        lo, hi = out[0], out[0]
        for i in range(1, n):
            lo, hi = min(lo, out[i]), max(hi, out[i])
        span = max(hi - lo, 1e-8)
        for i in range(n):
            out[i] = (out[i] - lo) / span
    scale = (c_visit + top) * c_scale
    for i in range(n):
        out[i] = scale * out[i]
    return total


@numba.njit(cache=True)
def _sigma(logits, visits, q, raw_value, c_visit, c_scale, rescale):
    """sigma(completed Q) `[L]` from per-action visits and Q-values (`sigma_into`)."""
    out = np.empty(logits.shape[0])
    sigma_into(logits, visits, q, raw_value, c_visit, c_scale, rescale, out)
    return out


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


def node_stats(tree: Tree, node: int) -> tuple[np.ndarray, np.ndarray]:
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


def interior_choice(tree: Tree, node: int, cfg: SearchConfig) -> int:
    """Edge offset chosen at a non-root node: argmax(pi'(a) - N(a) / (1 + sum N))."""
    e = tree.edges(node)
    p = tree.to_play[node]
    return int(_interior_kernel(tree.edge_logit[e], tree.edge_child[e], tree.visits,
                                tree.value_sum, p, tree.raw_value[node, p], cfg.c_visit,
                                cfg.c_scale, cfg.rescale_values))


def root_choice(tree: Tree, gumbel: np.ndarray, considered_visit: int,
                 cfg: SearchConfig) -> int:
    e = tree.edges(0)
    p = tree.to_play[0]
    return int(_root_kernel(tree.edge_logit[e], tree.edge_child[e], tree.visits, tree.value_sum,
                            p, tree.raw_value[0, p], gumbel, considered_visit, cfg.c_visit,
                            cfg.c_scale, cfg.rescale_values))
