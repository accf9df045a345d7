"""Plain UCT with random rollouts: the classical yardstick (``uct:N`` in `agent_from_spec`).

The AlphaZero papers measure their players against a plain MCTS of this kind: UCT
(Kocsis & Szepesvari 2006) with the UCB1 rule (Auer et al. 2002) and one uniform-random
rollout per leaf. Per decision, ``N`` simulations each

1. **select**: from the root, while the node is live and has no untried move, go to the
   child maximizing UCB1 for the node's mover ``m``:
   ``(Q_m(child) + 1) / 2 + c sqrt(ln n(node) / n(child))``, ``Q_m`` the mean value of
   seat ``m`` (in [-1, 1], mapped to [0, 1] so that ``c = sqrt(2)`` is UCB1's constant);
2. **expand**: the node's next untried move (untried moves are tried in an order shuffled
   by the match generator) becomes a child;
3. **roll out**: from the new child, uniform-random moves to the end of the game with the
   engine's compiled `playout_kernel` (bookkeeping moves included), at most ``rollout_cap``
   moves; a finished game is valued by its final ranks (`search.game_fns.rank_values`: 1st
   +1, last -1, ties share), a capped one is a draw (all zeros);
4. **back up** (max^n): every node on the path adds the value vector `[P]` (one component
   per seat), so each mover maximizes its own component; consecutive decisions of one
   player need nothing special.

The move played is the root child with the most visits (ties broken by the match
generator); a decision with one legal move is played without search (`forced_record`).
Everything random (move order, rollout seeds, ties) is drawn from the ``rng`` handed to
``act``, so a match is deterministic given its seed.
"""

from __future__ import annotations

import math

import numpy as np

from ringrift_ray.eval.matches import Agent, best_scored_agent
from ringrift_ray.game import GameState, apply_record, legal_move_records, playout_kernel
from ringrift_ray.game import work_buffer as _work_buffer
from ringrift_ray.search.game_fns import terminal_values

UCB_C = math.sqrt(2.0)
"""UCB1's exploration constant on values mapped to [0, 1]."""

ROLLOUT_CAP = 2000
"""Moves a rollout may play before it is scored a draw (random square8 2p games: ~130)."""


class _Node:
    """One position of the tree with its edge statistics.

    Attributes:
        state: the position (owned by the node).
        mover: seat index (``player - 1``) choosing here.
        records: `[M, W]` legal move records (empty once the game is over).
        order: `[M]` the order in which moves are expanded (shuffled).
        children: expanded children, in expansion order (child k plays
            ``records[order[k]]``).
        visits: `[M]` visits of each expanded child (by expansion order).
        value_sum: `[M, P]` sum of backed-up value vectors of each expanded child.
        terminal: `[P]` exact values of a finished game, None while live.
    """

    __slots__ = ("state", "mover", "records", "order", "children", "visits", "value_sum",
                 "terminal")

    def __init__(self, state: GameState, rng: np.random.Generator):
        self.state = state
        self.terminal = terminal_values(state)
        self.mover = state.current_player - 1
        self.records = legal_move_records(state)
        m = len(self.records)
        self.order = rng.permutation(m)
        self.children: list[_Node] = []
        self.visits = np.zeros(m)
        self.value_sum = np.zeros((m, state.num_players))


class _Rollouts:
    """The compiled rollout with its work buffers (one per agent, reused)."""

    def __init__(self, cap: int):
        self.cap = cap
        self.out, self.scratch = _work_buffer(), _work_buffer()
        self.trace = np.empty((0, self.out.shape[1]), dtype=np.int32)

    def value(self, state: GameState, seed: int) -> np.ndarray:
        """Values `[P]` of one random playout from ``state`` (not modified)."""
        s = state.copy()
        b = s.board
        playout_kernel(b.step, b.tadj, b.border_adj, s.rings, s.height, s.marker, s.collapsed,
                       s.order, s.meta, seed, self.cap, self.out, self.scratch, self.trace)
        done = terminal_values(s)
        return np.zeros(s.num_players) if done is None else done


def _select(node: _Node, c: float) -> int:
    """Index (expansion order) of the child maximizing UCB1 for ``node.mover``."""
    n = node.visits
    q = node.value_sum[:, node.mover] / n
    ucb = (q + 1.0) / 2.0 + c * np.sqrt(math.log(n.sum()) / n)
    return int(np.argmax(ucb))


def _simulate(root: _Node, rollouts: _Rollouts, rng: np.random.Generator, c: float) -> None:
    """One simulation: select, expand one child, roll out, back up the value vector."""
    path: list[tuple[_Node, int]] = []
    node = root
    while True:
        if node.terminal is not None:
            value = node.terminal
            break
        k = len(node.children)
        if k < len(node.records):  # expand the next untried move
            child = _Node(apply_record(node.state, node.records[node.order[k]]), rng)
            node.children.append(child)
            path.append((node, k))
            value = (child.terminal if child.terminal is not None
                     else rollouts.value(child.state, int(rng.integers(2**31 - 1))))
            break
        k = _select(node, c)
        path.append((node, k))
        node = node.children[k]
    for parent, k in path:
        parent.visits[k] += 1
        parent.value_sum[k] += value


def uct_search(state: GameState, num_simulations: int, rng: np.random.Generator, *,
               c: float = UCB_C, rollout_cap: int = ROLLOUT_CAP,
               rollouts: _Rollouts | None = None) -> tuple[np.ndarray, np.ndarray]:
    """UCT from a live ``state`` (not modified).

    Returns:
        ``(records [K, W], visits [K])``: the root's expanded moves and their visit counts.
    """
    root = _Node(state.copy(), rng)
    rollouts = rollouts or _Rollouts(rollout_cap)
    for _ in range(num_simulations):
        _simulate(root, rollouts, rng, c)
    k = len(root.children)
    return root.records[root.order[:k]], root.visits[:k]


def uct_agent(num_simulations: int, name: str | None = None, *, c: float = UCB_C,
              rollout_cap: int = ROLLOUT_CAP) -> Agent:
    """Plain UCT with ``num_simulations`` simulations per decision (module docstring); plays
    the most visited root move, ties broken by the match generator.

    Raises:
        ValueError: a non-positive ``num_simulations`` or ``rollout_cap``.
    """
    if num_simulations < 1 or rollout_cap < 1:
        raise ValueError(f"uct needs positive simulations and rollout cap, got "
                         f"{num_simulations} and {rollout_cap}")
    rollouts = _Rollouts(rollout_cap)
    return best_scored_agent(
        name or f"uct:{num_simulations}",
        lambda s, rng: uct_search(s, num_simulations, rng, c=c, rollouts=rollouts))
