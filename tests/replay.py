"""Replay a reference trace game with our engine and list every disagreement.

Where the reference engine contradicts the canonical spec, the replay follows the spec and
records the step as a documented divergence (`DEVIATIONS`) instead of a problem; the trace
tests pin every such step. Both divergences are in territory region eligibility
(RR-CANON-R142) and only ever make the reference offer fewer regions than the spec:

- the reference drops regions the spec makes eligible: the replay accepts our extra
  ``choose_territory_option`` moves when each is explained by a `DEVIATIONS` kind;
- where the reference then has no region at all, it lists ``no_territory_action`` or leaves
  territory processing without a move, where we offer the extra regions and
  ``skip_territory_processing``: the replay applies our skip, which leads to the same state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ringrift_ray.game import (
    GameState,
    apply_record_inplace,
    find_legal_record,
    legal_moves,
    move_from_text,
    move_to_text,
    ranks,
    state_from_reference,
)
from ringrift_ray.game import constants as K

DEVIATIONS = {
    "no-marker-regions-need-one-colour": (
        "RR-CANON-R142: a region is eligible when RegionColors (players controlling a stack "
        "in it) is a strict subset of ActiveColors, whatever its size; an empty region "
        "(RegionColors = {}) is eligible ('Empty regions'). While the board has no marker, "
        "the reference (generators/territory.py 'defensive filter', TS territoryDetection "
        "parity) offers only regions in which exactly one colour controls stacks: it drops "
        "empty regions and regions shared by two or more colours."),
}


@dataclass
class Replay:
    """What replaying one game found: ``problems`` (unexplained disagreements; empty =
    exact) and ``deviations``, ``(game, step, kind)`` for each documented divergence."""

    problems: list[str] = field(default_factory=list)
    deviations: list[tuple[int, int, str]] = field(default_factory=list)


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


def deviation_of(state, text: str) -> str | None:
    """The `DEVIATIONS` kind that makes the reference drop ``text``, a
    ``choose_territory_option`` we offer in ``state``; None if none explains it."""
    move = move_from_text(text)
    if move.type != "choose_territory_option" or state.marker.any():
        return None
    cells = [state.board.cell(",".join(map(str, p))) for p in move.region]
    colours = {int(state.rings[c, state.height[c] - 1]) for c in cells if state.height[c]}
    return "no-marker-regions-need-one-colour" if len(colours) != 1 else None


def _explain(state, ours: set[str], theirs: set[str]) -> list[str] | None:
    """Deviation kinds explaining ``ours != theirs``, or None if they do not."""
    extra, missing = ours - theirs, theirs - ours
    skip = f"skip_territory_processing p{state.current_player}"
    kinds = [deviation_of(state, t) for t in sorted(extra - {skip})]
    if not kinds or None in kinds:
        return None
    if missing and (missing != {f"no_territory_action p{state.current_player}"}
                    or skip not in extra):
        return None
    if skip in extra and theirs - missing:
        return None  # the reference offers regions but we alone offer the skip
    return sorted(set(kinds))


def _territory_skipped(state, ref) -> list[str] | None:
    """Deviation kinds when we are still deciding on regions that the reference, having
    none, left territory processing without (None if that is not the case)."""
    if state.phase != "territory_processing" or state.meta[K.M_PENDING_TERR_ELIM]:
        return None
    if ref.phase == "territory_processing" and ref.current_player == state.current_player:
        return None
    texts = {move_to_text(m) for m in legal_moves(state)}
    return _explain(state, texts, {f"no_territory_action p{state.current_player}"})


def _apply(state: GameState, text: str, on_step) -> GameState:
    if on_step is not None:
        on_step(state, text)
    apply_record_inplace(state, find_legal_record(state, text))
    return state


def replay(steps: list[dict], end: dict, max_steps: int | None = None,
           on_step: Callable[[GameState, str], None] | None = None) -> Replay:
    """Replay one trace game: legal-move sets, states, final state and ranks.

    ``on_step(state, move_text)`` (optional) sees our state before every applied move,
    inserted skips included."""
    out = Replay()
    state = state_from_reference(steps[0]["state"], steps[0]["state_extras"])
    for d in steps[: max_steps or len(steps)]:
        where = f"game {d['game']} step {d['step']}"
        ref = state_from_reference(d["state"], d["state_extras"])
        kinds = _territory_skipped(state, ref)
        if kinds:
            out.deviations += [(d["game"], d["step"], k) for k in kinds]
            state = _apply(state, f"skip_territory_processing p{state.current_player}", on_step)
        diff = state_diff(state, ref)
        if diff:
            out.problems.append(f"{where}: state differs: {diff}")
            return out
        # exact texts: our recovery slides name the same extraction stack as the reference
        # (the README would allow comparing them by type/player/from/to/mode only)
        ours, theirs = {move_to_text(m) for m in legal_moves(state)}, set(d["legal_moves"])
        chosen = d["chosen"]
        if ours != theirs:
            kinds = _explain(state, ours, theirs)
            if kinds is None:
                out.problems.append(
                    f"{where} ({d['phase']}): legal moves differ; ours only "
                    f"{sorted(ours - theirs)[:5]}; reference only {sorted(theirs - ours)[:5]}")
                return out
            out.deviations += [(d["game"], d["step"], k) for k in kinds]
            if chosen not in ours:  # the reference's no_territory_action: our skip
                chosen = f"skip_territory_processing p{state.current_player}"
        state = _apply(state, chosen, on_step)
    if max_steps is not None and max_steps < len(steps):
        return out
    game = steps[0]["game"]
    ref = state_from_reference(end["final_state"], end["final_state_extras"])
    kinds = _territory_skipped(state, ref)
    if kinds:
        out.deviations += [(game, len(steps), k) for k in kinds]
        state = _apply(state, f"skip_territory_processing p{state.current_player}", on_step)
    diff = state_diff(state, ref)
    expected = {int(p): r for p, r in end["ranks"].items()}
    if diff:
        out.problems.append(f"game {game} final state differs: {diff}")
    elif ranks(state) != expected:
        out.problems.append(f"game {game} ranks: ours {ranks(state)} reference {expected}")
    return out
