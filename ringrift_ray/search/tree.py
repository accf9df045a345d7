"""One game's search tree for `search.gumbel_search`, in preallocated numpy arrays.

Legend: ``M`` nodes (``num_simulations + 1``), ``E`` edges of all expanded nodes, ``P``
players, ``L`` legal actions of one node.

| array                 | dtype / shape   | meaning                                          |
|-----------------------|-----------------|--------------------------------------------------|
| visits                | int64 [M]       | visit count N of each node                       |
| value_sum, raw_value  | float64 [M, P]  | summed backed-up values; the network's value     |
| to_play, terminal     | int64, bool [M] | seat to move; whether the node is a finished game |
| edge_start, edge_count| int64 [M]       | a node's edges: ``edge_start : edge_start + count`` |
| edge_action, edge_logit, edge_child | [E] | action index, prior logit, child node (-1: none) |
"""

from __future__ import annotations

from typing import Any

import numpy as np

State = Any  # the game state is opaque to the search


class Tree:
    """One game's search tree in preallocated arrays (edges in a growable flat pool).

    Args:
        capacity: M, nodes the tree can hold.
        num_players: P.
        edge_capacity: initial E (grows by doubling).
    """

    def __init__(self, capacity: int, num_players: int, edge_capacity: int):
        self.visits = np.zeros(capacity, dtype=np.int64)
        self.value_sum = np.zeros((capacity, num_players), dtype=np.float64)
        self.raw_value = np.zeros((capacity, num_players), dtype=np.float64)
        self.to_play = np.zeros(capacity, dtype=np.int64)
        self.terminal = np.zeros(capacity, dtype=bool)
        self.edge_start = np.zeros(capacity, dtype=np.int64)
        self.edge_count = np.zeros(capacity, dtype=np.int64)
        self.edge_action = np.zeros(edge_capacity, dtype=np.int64)
        self.edge_logit = np.zeros(edge_capacity, dtype=np.float64)
        self.edge_child = np.full(edge_capacity, -1, dtype=np.int64)
        self.states: list[State] = [None] * capacity
        self.num_nodes = 0
        self.num_edges = 0

    def add_node(self, state: State, to_play: int) -> int:
        i = self.num_nodes
        self.num_nodes += 1
        self.states[i] = state
        self.to_play[i] = to_play
        return i

    def expand(self, node: int, actions: np.ndarray, logits: np.ndarray, value: np.ndarray):
        n = len(actions)
        if self.num_edges + n > len(self.edge_action):
            grow = max(len(self.edge_action), n) * 2
            self.edge_action = np.resize(self.edge_action, grow)
            self.edge_logit = np.resize(self.edge_logit, grow)
            child = np.full(grow, -1, dtype=np.int64)
            child[: self.num_edges] = self.edge_child[: self.num_edges]
            self.edge_child = child
        s = self.num_edges
        self.edge_start[node] = s
        self.edge_count[node] = n
        self.edge_action[s : s + n] = actions
        self.edge_logit[s : s + n] = logits - logits.max()
        self.edge_child[s : s + n] = -1
        self.raw_value[node] = value
        self.num_edges += n

    def edges(self, node: int) -> slice:
        s = self.edge_start[node]
        return slice(s, s + self.edge_count[node])
