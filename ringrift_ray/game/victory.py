"""End of turn: victory checks, last-player-standing, stalemate, turn rotation, final ranks
(RR-CANON-R170..R178, R201).
"""

import numpy as np

from ringrift_ray.game._jit import njit
from ringrift_ray.game.constants import (
    GAME_OVER,
    M_ACTIVE,
    M_BOARD_ELIM,
    M_CHAIN,
    M_CURRENT,
    M_ELIM,
    M_ELIM_TURN,
    M_HAND,
    M_LAST_ACTOR,
    M_MUST_MOVE,
    M_NUM_PLAYERS,
    M_PENDING_LINE_ELIM,
    M_PENDING_TERR_ELIM,
    M_PHASE,
    M_TERR,
    M_TERRITORY_MIN,
    M_TURN_ACTED,
    M_TURN_RECOVERY,
    M_TURNS_COMPLETED,
    M_VICTORY_REASON,
    M_VICTORY_THRESHOLD,
    M_WINNER,
    RING_PLACEMENT,
    VICTORY_RING_ELIMINATION,
    VICTORY_STRUCTURAL,
    VICTORY_TERRITORY,
)
from ringrift_ray.game.lps import lps_after_turn, lps_winner


@njit
def rings_anywhere(rings, height, meta, player):
    """True if ``player`` has a ring in hand or in any stack (not permanently eliminated)."""
    if meta[M_HAND + player] > 0:
        return True
    for c in range(height.shape[0]):
        for k in range(height[c]):
            if rings[c, k] == player:
                return True
    return False


@njit
def _finish(meta, winner, reason):
    meta[M_ACTIVE] = 0
    meta[M_WINNER] = winner
    meta[M_VICTORY_REASON] = reason
    meta[M_PHASE] = GAME_OVER


@njit
def threshold_winner(meta):
    """(winner, reason) for ring-elimination (R170) or territory (R171) victory, else (0, 0)."""
    np_ = meta[M_NUM_PLAYERS]
    for p in range(1, np_ + 1):
        if meta[M_ELIM + p] >= meta[M_VICTORY_THRESHOLD]:
            return p, VICTORY_RING_ELIMINATION
    total = 0
    for p in range(1, np_ + 1):
        total += meta[M_TERR + p]
    for p in range(1, np_ + 1):
        t = meta[M_TERR + p]
        if t >= meta[M_TERRITORY_MIN] and t > total - t:
            return p, VICTORY_TERRITORY
    return 0, 0


@njit
def _score(meta, marker, p):
    """Ranking key of RR-CANON-R177 as a tuple compared lexicographically (higher better)."""
    markers = 0
    for c in range(marker.shape[0]):
        if marker[c] == p:
            markers += 1
    et = meta[M_ELIM_TURN + p]
    never = 1 if et == 0 else 0
    return (meta[M_TERR + p], meta[M_ELIM + p], markers, never, et)


@njit
def stalemate_winner(meta, marker):
    """Best player by the R177 cascade after converting rings in hand (R173); 0 on a full tie
    at the top (the winner field stays empty, ranks still resolve)."""
    np_ = meta[M_NUM_PLAYERS]
    best = 1
    tie = False
    for p in range(2, np_ + 1):
        a = _score(meta, marker, p)
        b = _score(meta, marker, best)
        if a > b:
            best = p
            tie = False
        elif a == b:
            tie = True
    return 0 if tie else best


@njit
def _mark_permanent_eliminations(rings, height, meta, turn):
    for p in range(1, meta[M_NUM_PLAYERS] + 1):
        if meta[M_ELIM_TURN + p] == 0 and not rings_anywhere(rings, height, meta, p):
            meta[M_ELIM_TURN + p] = turn


@njit
def end_turn(step, tadj, rings, height, marker, collapsed, meta, scratch):
    """Close the current player's turn: victory checks, LPS bookkeeping, rotation to the
    next player who is not permanently eliminated, and the start of their ring_placement."""
    player = meta[M_CURRENT]
    meta[M_TURNS_COMPLETED] += 1
    if meta[M_TURN_ACTED]:
        meta[M_LAST_ACTOR] = player
    _mark_permanent_eliminations(rings, height, meta, meta[M_TURNS_COMPLETED])
    winner, reason = threshold_winner(meta)
    if winner:
        _finish(meta, winner, reason)
        return
    np_ = meta[M_NUM_PLAYERS]
    nxt = player
    found = False
    for _ in range(np_):
        nxt = nxt % np_ + 1
        if rings_anywhere(rings, height, meta, nxt):
            found = True
            break
    meta[M_MUST_MOVE] = -1
    meta[M_CHAIN] = -1
    meta[M_PENDING_LINE_ELIM] = 0
    meta[M_PENDING_TERR_ELIM] = 0
    meta[M_TURN_ACTED] = 0
    meta[M_TURN_RECOVERY] = 0
    meta[M_PHASE] = RING_PLACEMENT
    if not found or _no_stacks_and_no_hand_actions(rings, height, meta):
        _stalemate(meta, marker)
        return
    meta[M_CURRENT] = nxt
    lps_after_turn(step, rings, height, marker, collapsed, meta, player, nxt)
    w = lps_winner(meta)
    if w:
        _finish(meta, w, 3)


@njit
def _no_stacks_and_no_hand_actions(rings, height, meta):
    """Global stalemate shape (R173): no stacks on the board and no rings in hand."""
    for c in range(height.shape[0]):
        if height[c] > 0:
            return False
    for p in range(1, meta[M_NUM_PLAYERS] + 1):
        if meta[M_HAND + p] > 0:
            return False
    return True


@njit
def _stalemate(meta, marker):
    for p in range(1, meta[M_NUM_PLAYERS] + 1):
        h = meta[M_HAND + p]
        if h > 0:
            meta[M_HAND + p] = 0
            meta[M_ELIM + p] += h
            meta[M_BOARD_ELIM + p] += h
    _finish(meta, stalemate_winner(meta, marker), VICTORY_STRUCTURAL)


def final_ranks(meta: np.ndarray, marker: np.ndarray) -> np.ndarray:
    """Ranks `[P + 1]` (index 0 unused): winner 1, the rest by the R177 cascade, ties share
    (standard competition ranking, R178)."""
    np_ = int(meta[M_NUM_PLAYERS])
    winner = int(meta[M_WINNER])
    scores = {p: _score(meta, marker, p) for p in range(1, np_ + 1)}
    ranks = np.zeros(np_ + 1, dtype=np.int64)
    others = [p for p in range(1, np_ + 1) if p != winner]
    others.sort(key=lambda p: scores[p], reverse=True)
    start = 1
    if winner:
        ranks[winner] = 1
        start = 2
    for i, p in enumerate(others):
        if i > 0 and scores[p] == scores[others[i - 1]]:
            ranks[p] = ranks[others[i - 1]]
        else:
            ranks[p] = start + i
    return ranks
