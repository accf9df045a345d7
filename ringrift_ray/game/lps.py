"""Last-player-standing bookkeeping (RR-CANON-R172). PROVISIONAL: filled in from the
reference behaviour."""

from ringrift_ray.game._jit import njit


@njit
def lps_after_turn(step, rings, height, marker, collapsed, meta, player, nxt):
    return


@njit
def lps_winner(meta):
    return 0
