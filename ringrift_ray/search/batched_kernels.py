"""Numba kernels of the compiled batched search (`search.batched`): one call selects a leaf
in every tree of a `Forest`, one call expands the evaluated leaves and backs up a
simulation per tree. Game-agnostic: no rules, no network.

Legend: ``B`` trees, ``M`` nodes per tree, ``E`` edge slots per tree, ``P`` players, ``n``
leaves of one step. Node ``i`` of tree ``b`` is ``[b, i]`` in every node array; its edges are
``edge_start[b, i] : edge_start[b, i] + edge_count[b, i]`` in tree ``b``'s edge arrays.

The choices repeat `search.selection`'s kernels (``_root_kernel``, ``_interior_kernel``)
operation for operation, in scratch arrays instead of fresh ones, and share its sigma kernel
(`selection.sigma_into`), so a tree of the forest and a `search.tree.Tree` given the same
statistics choose the same edges, bit for bit (tests/test_game_kernels.py and
tests/test_search_batched.py check it).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ringrift_ray.search.selection import sigma_into

IDLE, NEW, SEARCHING, DONE = 0, 1, 2, 3
"""Tree status codes: no search; root loaded, not yet expanded; simulating; finished."""

_kernel = numba.njit(cache=True, nogil=True)


@_kernel
def fill_schedule(k, num_simulations, out):
    """Write `search.selection.visit_schedule(k, num_simulations)` into ``out[:num_simulations]``
    (the sequential-halving visit count an action needs at each simulation)."""
    if k <= 1:
        for i in range(num_simulations):
            out[i] = i
        return
    rounds_log = math.ceil(math.log2(k))
    visits = np.zeros(k, dtype=np.int64)
    m = k
    n = 0
    while n < num_simulations:
        extra = max(1, num_simulations // (rounds_log * m))
        for _ in range(extra):
            for i in range(m):
                if n < num_simulations:
                    out[n] = visits[i]
                n += 1
            for i in range(m):
                visits[i] += 1
        m = max(2, m // 2)


@_kernel
def _sigma_into(logits, children, visits, value_sum, player, raw_value, c_visit, c_scale,
                rescale, n_out, q_out, sigma):
    """`selection._child_stats` of one node into ``n_out`` / ``q_out`` and
    `selection.sigma_into` into ``sigma`` (first ``L`` entries); returns the node's total
    child visits."""
    for i in range(logits.shape[0]):
        ch = children[i]
        n_out[i] = 0
        q_out[i] = 0.0
        if ch >= 0 and visits[ch] > 0:
            n_out[i] = visits[ch]
            q_out[i] = value_sum[ch, player] / visits[ch]
    return sigma_into(logits, n_out, q_out, raw_value, c_visit, c_scale, rescale, sigma)


@_kernel
def _root_choice(logits, children, visits, value_sum, player, raw_value, gumbel, base,
                 considered_visit, c_visit, c_scale, rescale, n_out, q_out, sigma):
    """`selection._root_kernel` in scratch arrays. Sigma reads every visit of the root's
    children; the halving counts only this search's (child visits minus ``base [L]``, the
    visits a reused subtree brought: `search.reuse`; zeros for a fresh root)."""
    _sigma_into(logits, children, visits, value_sum, player, raw_value, c_visit, c_scale,
                rescale, n_out, q_out, sigma)
    best = -1
    best_score = -np.inf
    for i in range(logits.shape[0]):
        if n_out[i] - base[i] == considered_visit:
            score = max(-1e9, gumbel[i] + logits[i] + sigma[i])
            if score > best_score:
                best = i
                best_score = score
    return best


@_kernel
def _interior_choice(logits, children, visits, value_sum, player, raw_value, c_visit, c_scale,
                     rescale, n_out, q_out, sigma):
    """`selection._interior_kernel` in scratch arrays."""
    n = logits.shape[0]
    total = _sigma_into(logits, children, visits, value_sum, player, raw_value, c_visit,
                        c_scale, rescale, n_out, q_out, sigma)
    for i in range(n):
        sigma[i] = logits[i] + sigma[i]
    m = sigma[0]
    for i in range(1, n):
        m = max(m, sigma[i])
    z = 0.0
    for i in range(n):
        sigma[i] = np.exp(sigma[i] - m)
        z += sigma[i]
    best = 0
    best_score = -np.inf
    for i in range(n):
        score = sigma[i] / z - n_out[i] / (1.0 + total)
        if score > best_score:
            best = i
            best_score = score
    return best


@_kernel
def select_leaves(status, sim, schedule, gumbel, root_base, num_nodes, visits, value_sum,
                  raw_value, to_play, terminal, edge_start, edge_count, edge_child, edge_logit,
                  c_visit, c_scale, rescale, path, depth, edge_payload, leaf_tree, leaf_node,
                  leaf_row, leaf_parent_row, leaf_record):
    """Walk every tree from its root to a new leaf (one simulation's selection).

    A ``NEW`` tree's leaf is its root (``leaf_parent_row = -1``, no path). A ``SEARCHING`` tree
    picks the root edge by Gumbel sequential halving (``schedule[b, sim[b]]`` visits of this
    search: child visits minus ``root_base [B, E]``, by root edge offset), then
    the interior rule, down to an edge without a child: the child gets the next node id and
    becomes the leaf. A walk that ends on a known terminal node yields a path and no leaf.

    Writes ``path [B, M]`` / ``depth [B]`` (0: nothing to back up) and the leaves
    ``leaf_tree / leaf_node / leaf_row / leaf_parent_row [n]`` (state rows ``b * M + node``)
    and ``leaf_record [n, W]`` (the payload of the edge to the leaf); returns ``n``.
    """
    n = 0
    m = path.shape[1]
    width = edge_logit.shape[1]
    n_out, q_out, sigma = np.empty(width, np.int64), np.empty(width), np.empty(width)
    for b in range(status.shape[0]):
        depth[b] = 0
        if status[b] == NEW:
            leaf_tree[n], leaf_node[n], leaf_row[n], leaf_parent_row[n] = b, 0, b * m, -1
            n += 1
            continue
        if status[b] != SEARCHING:
            continue
        s, c = edge_start[b, 0], edge_count[b, 0]
        p = to_play[b, 0]
        e = _root_choice(edge_logit[b, s:s + c], edge_child[b, s:s + c], visits[b],
                         value_sum[b], p, raw_value[b, 0, p], gumbel[b, :c], root_base[b, :c],
                         schedule[b, sim[b]], c_visit, c_scale, rescale, n_out, q_out, sigma)
        node, d = 0, 1
        path[b, 0] = 0
        while True:
            edge = edge_start[b, node] + e
            child = edge_child[b, edge]
            fresh = child < 0
            if fresh:
                child = num_nodes[b]
                num_nodes[b] += 1
                edge_child[b, edge] = child
                leaf_tree[n], leaf_node[n] = b, child
                leaf_row[n], leaf_parent_row[n] = b * m + child, b * m + node
                leaf_record[n] = edge_payload[b, edge]
                n += 1
            path[b, d] = child
            d += 1
            if fresh or terminal[b, child]:
                break
            node = child
            s, c = edge_start[b, node], edge_count[b, node]
            p = to_play[b, node]
            e = _interior_choice(edge_logit[b, s:s + c], edge_child[b, s:s + c], visits[b],
                                 value_sum[b], p, raw_value[b, node, p], c_visit, c_scale,
                                 rescale, n_out, q_out, sigma)
        depth[b] = d
    return n


@_kernel
def split_live(finished, rows, trees, live, live_rows, live_trees):
    """Number the live leaves: ``live[j]`` = row of leaf j in the network call (-1: finished);
    their state rows and trees into ``live_rows`` / ``live_trees``; returns how many."""
    m = 0
    for j in range(finished.shape[0]):
        live[j] = -1
        if not finished[j]:
            live[j], live_rows[m], live_trees[m] = m, rows[j], trees[j]
            m += 1
    return m


@_kernel
def expand_and_backup(leaf_tree, leaf_node, leaf_live, leaf_first, leaf_count, leaf_to_play,
                      leaf_exact, logits, values, edge_action, edge_child, edge_logit,
                      edge_start, edge_count, raw_value, to_play, terminal, status, sim, budget,
                      considered, schedule, gumbel, gumbel_scale, noise, root_base, path, depth,
                      visits, value_sum):
    """Expand the step's leaves with the evaluation, then back up one simulation per tree.

    Live leaf ``j`` (the ``leaf_live[j]``-th row of ``logits [m, A]`` / ``values [m, P]``,
    absolute seats, and of ``leaf_first / leaf_count / leaf_to_play``) gets its edges' prior
    logits ``logits[row, action] - max`` (float64) and
    its value; a finished one (``leaf_live[j] < 0``) becomes terminal with ``leaf_exact[j]``.
    A root expansion takes ``gumbel_scale[b] * noise`` (the next ``count`` draws of
    ``noise``, roots in leaf order) and zero ``root_base``, fills the tree's halving
    schedule and starts searching (or is done at once with a single legal action). Each path
    then adds the value of its last node to every node on it; a tree whose ``sim`` reaches
    ``budget`` is ``DONE``.
    """
    g = 0
    for j in range(leaf_tree.shape[0]):
        b, node, row = leaf_tree[j], leaf_node[j], leaf_live[j]
        if row < 0:
            terminal[b, node] = True
            to_play[b, node] = 0
            raw_value[b, node, :] = leaf_exact[j]
            continue
        s, c = leaf_first[row], leaf_count[row]
        edge_start[b, node], edge_count[b, node] = s, c
        to_play[b, node] = leaf_to_play[row]
        top = -np.inf
        for i in range(s, s + c):
            edge_logit[b, i] = np.float64(logits[row, edge_action[b, i]])
            edge_child[b, i] = -1
            top = max(top, edge_logit[b, i])
        for i in range(s, s + c):
            edge_logit[b, i] = edge_logit[b, i] - top
        for k in range(raw_value.shape[2]):
            raw_value[b, node, k] = np.float64(values[row, k])
        if node == 0:
            for i in range(c):
                gumbel[b, i] = gumbel_scale[b] * noise[g + i]
                root_base[b, i] = 0
            g += c
            fill_schedule(min(considered[b], c), budget[b], schedule[b])
            sim[b] = 0
            status[b] = DONE if c == 1 else SEARCHING
    for b in range(depth.shape[0]):
        d = depth[b]
        if d == 0:
            continue
        last = path[b, d - 1]
        for i in range(d):
            node = path[b, i]
            visits[b, node] += 1
            for k in range(value_sum.shape[2]):
                value_sum[b, node, k] += raw_value[b, last, k]
        sim[b] += 1
        if sim[b] >= budget[b]:
            status[b] = DONE
