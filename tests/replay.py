"""Replay a reference trace game with our engine and list every disagreement."""

from __future__ import annotations

import numpy as np

from ringrift_ray.game import constants as K
from ringrift_ray.game import find_legal_record, legal_moves, move_to_text, ranks
from ringrift_ray.game.engine import apply_record_inplace
from ringrift_ray.game.interop import state_from_reference


def state_diff(ours, ref) -> list[str]:
    """Differences on board, players, current player/phase, status and winner."""
    out = []
    h = max(ours.rings.shape[1], ref.rings.shape[1])

    def pad(r):
        return np.pad(r, ((0, 0), (0, h - r.shape[1])))

    for name in ("height", "marker", "collapsed"):
        a, b = getattr(ours, name), getattr(ref, name)
        if not np.array_equal(a, b):
            cells = np.nonzero(a != b)[0][:5]
            out.append(f"{name} differs at {[ours.board.keys[c] for c in cells]}")
    if not np.array_equal(pad(ours.rings), pad(ref.rings)):
        cells = np.nonzero((pad(ours.rings) != pad(ref.rings)).any(axis=1))[0][:5]
        out.append(f"rings differ at {[ours.board.keys[c] for c in cells]}")
    fields = [("current", K.M_CURRENT), ("phase", K.M_PHASE), ("active", K.M_ACTIVE),
              ("winner", K.M_WINNER)]
    for p in range(1, ours.num_players + 1):
        fields += [(f"hand{p}", K.M_HAND + p), (f"elim{p}", K.M_ELIM + p),
                   (f"terr{p}", K.M_TERR + p), (f"board_elim{p}", K.M_BOARD_ELIM + p)]
    for name, i in fields:
        if ours.meta[i] != ref.meta[i]:
            out.append(f"{name}: ours {ours.meta[i]} ref {ref.meta[i]}")
    return out


def replay(steps: list[dict], end: dict, max_steps: int | None = None) -> list[str]:
    """Replay one trace game; returns the first problems found (empty list = exact)."""
    first = steps[0]
    state = state_from_reference(first["state"], first["state_extras"])
    for d in steps[: max_steps or len(steps)]:
        where = f"game {d['game']} step {d['step']}"
        ref = state_from_reference(d["state"], d["state_extras"])
        diff = state_diff(state, ref)
        if diff:
            return [f"{where}: state differs: {diff}"]
        # exact texts: our recovery slides name the same extraction stack as the reference
        # (the README would allow comparing them by type/player/from/to/mode only)
        ours = sorted({move_to_text(m) for m in legal_moves(state)})
        theirs = sorted(d["legal_moves"])
        if ours != theirs:
            extra = sorted(set(ours) - set(theirs))[:5]
            missing = sorted(set(theirs) - set(ours))[:5]
            return [f"{where} ({d['phase']}): legal moves differ; ours only {extra}; "
                    f"reference only {missing}"]
        apply_record_inplace(state, find_legal_record(state, d["chosen"]))
    if max_steps is not None and max_steps < len(steps):
        return []
    ref = state_from_reference(end["final_state"], end["final_state_extras"])
    diff = state_diff(state, ref)
    if diff:
        return [f"game {first['game']} final state differs: {diff}"]
    expected = {int(p): r for p, r in end["ranks"].items()}
    if ranks(state) != expected:
        return [f"game {first['game']} ranks: ours {ranks(state)} reference {expected}"]
    return []
