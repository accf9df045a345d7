"""Run the reference contract vectors (``contract-vectors/v2``) through our engine.

For each vector: build the state with `state_from_reference`, convert ``input.move`` (or
``input.initialMove``) with `move_from_reference`, apply it with `apply_move` (validated when
the move is legal here; otherwise with ``validate=False``, the effects as given, which is how
the reference's runner treats every vector: it tests transitions, not legality),
follow ``expectedChainSequence`` while a chain capture is open (as the reference's runner
does), then check every key of ``expectedOutput.assertions``:

| key | our value |
|---|---|
| currentPlayer, currentPhase, gameStatus | meta; status ``active`` / ``completed`` |
| stackCount, markerCount, collapsedCount | non-empty cells |
| sInvariantDelta | change of S = markers + collapsed + credited eliminations (RR-CANON-R191) |
| player<N>RingsInHand / EliminatedRings / TerritorySpaces | per-player counters |
| victoryWinner, victoryReason | winner, reason (``territory_control`` = ``territory``) |
| pendingDecisionType | ``select_line_to_process`` = line_processing with a process_line |
| totalCapturesInChain, markersCreated, finalStack* | capture segments applied, marker gain, |
| targetStacksRemaining, extractionCount, noLineCollapse | final stack, opponent stacks, ... |

The 56 ids of ``TRUSTED.txt`` must pass. Every other vector passes too, or is listed in
`KNOWN_DIVERGENT` with the canonical rule it contradicts; a listed vector must still
diverge, so the list cannot go stale.
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import contract_vectors, trusted_ids

from ringrift_ray.game import (
    GameState,
    IllegalMoveError,
    Move,
    apply_move,
    legal_moves,
    move_from_reference,
    state_from_reference,
)
from ringrift_ray.game import constants as K

VECTORS = contract_vectors()
TRUSTED = trusted_ids()

# vector id -> extras the serialization lacks (trace ``state_extras`` format)
EXTRAS = {
    "meta.swap_sides.after_p1_first_move.square8": {"rulesOptions": {"swapRuleEnabled": True}},
}

_NOT_DISCONNECTED = ("the region named by the move is not physically disconnected, so no "
                     "choose_territory_option is legal (RR-CANON-R140/R141)")
_NO_PENDING_ELIM = ("eliminate_rings_from_stack without a region processed this turn (empty "
                    "moveHistory): territory self-elimination is owed only after processing a "
                    "region (RR-CANON-R145)")
_WRONG_PLAYER = "stale fixture: move.player 1 but state.currentPlayer 2 (RR-CANON-R070)"
_SHORT_LANDING = ("capture landing closer than the attacker's height; a segment must travel at "
                  "least the stack height (RR-CANON-R101)")
_OWN_MARKERS = ("expects a line of markers the move jumps over, but jumped own markers collapse "
                "(RR-CANON-R092), so no line forms")
_CHAIN_OPEN = ("expects player 2's ring_placement after one overtaking capture; the capture "
               "leaves a mandatory chain open (RR-CANON-R103), the vector needs an orchestrator "
               "script (phaseTransitions)")
_NO_LINE = "move omits formedLines and our engine finds no such line to process (RR-CANON-R120)"
_NO_REGION = ("move omits disconnectedRegions and our engine finds no processable region "
              "(RR-CANON-R140/R141)")
_RECOVERY_STALE = ("stale fixture: 3 players with ringsInHand 0, eliminatedRings 0 and 3 rings on "
                   "board (RR-CANON-R020: 18 each); after the slide only player 2 has material "
                   "and our engine ends the game (last_player_standing, RR-CANON-R172)")

_RECOVERY_CONFLICT = (
    "conflicts with the reference traces: after the recovery extraction only player 2 has "
    "rings, and the reference engine ends such games at once (early last-player-standing; "
    "hex8_2p game 0 and square8_3p game 6 end exactly so, replayed in "
    "test_reference_traces.py), while this 3-player fixture (stale ring counts, RR-CANON-R020) "
    "expects the game to go on")

# vector id -> why our (canonical) result differs from its expected assertions
KNOWN_DIVERGENT: dict[str, str] = {
    "chain_capture.5_plus_targets.extended_zigzag_theoretical": _SHORT_LANDING + " (6,6: 2 < 3)",
    "forced_elimination.territory_no_host_fe.square8": _NO_REGION,
    "hex_edge_case.corner_region.case1.hexagonal": _NO_REGION,
    "multi_phase.placement_capture_line": _CHAIN_OPEN,
    "multi_phase.full_sequence_with_territory": _CHAIN_OPEN,
    "multi_phase.full_sequence_with_territory_square19": _CHAIN_OPEN,
    "multi_phase.full_sequence_with_territory_hex": (
        "stale fixture: stack at 7,7,-14 is off the radius-12 hexagonal board (RR-CANON-R001)"),
    "multi_phase.line_then_multi_region_territory.square19.step1_line": _NO_LINE,
    "multi_phase.line_then_multi_region_territory.square19.step2_regionB": _NO_REGION,
    "multi_phase.line_then_multi_region_territory.square19.step3_regionA": _NO_REGION,
    "multi_phase.line_then_multi_region_territory.hex.step1_line": _NO_LINE,
    "multi_phase.line_then_multi_region_territory.hex.step2_regionB": _NO_REGION,
    "multi_phase.line_then_multi_region_territory.hex.step3_regionA": _NO_REGION,
    "recovery.exact_length_option1": _RECOVERY_STALE,
    "territory.forced_elimination.simple_square8": _WRONG_PLAYER,
    "territory.forced_elimination.simple_hexagonal": (
        "stale fixture: stack key 3,3,0 is no hexagonal cell (x + y + z != 0, RR-CANON-R001)"),
    "territory.square_two_regions_then_elim.step2_regionA": _WRONG_PLAYER,
    "territory.square19_two_regions_then_elim.step2_regionA": _WRONG_PLAYER,
    "territory.hex_two_regions_then_elim.step2_regionA": _WRONG_PLAYER,
    "territory_line.overlong_line.step1.square8": _NO_LINE,
    "territory_line.single_point_swing.square19": _NO_REGION,
    "territory_line.decision_auto_exit.square8": _NO_REGION,
}

# The reference's own runner checks only these assertion keys.
REFERENCE_KEYS = {"currentPlayer", "currentPhase", "gameStatus", "stackCount", "markerCount",
                  "collapsedCount", "sInvariantDelta"}

# trusted vector id -> (assertion keys that differ, why); every other key must match
TRUSTED_EXCEPTIONS: dict[str, tuple[set[str], str]] = {
    "multiplayer.line.3marker_forms_line_3p": ({"pendingDecisionType"}, _OWN_MARKERS),
    "multiplayer.line.4marker_line_in_2p": ({"pendingDecisionType"}, _OWN_MARKERS),
    "recovery.overlength_option1": ({"gameStatus"}, _RECOVERY_CONFLICT),
    "recovery.fallback_reposition": ({"gameStatus"}, _RECOVERY_CONFLICT),
}

# vector id -> why its move is illegal in its state under the canonical rules; the reference
# runner applies moves without validating them, and so do we for these (``validate=False``)
ILLEGAL_MOVES: dict[str, str] = {
    "recovery.overlength_option2_free": (
        "Option 2 collapses 1,0-3,0; like the reference engine, ours offers Option 2 of a "
        "recovery line only for the first lineLength markers of the run (reference README: "
        "a known simplification of RR-CANON-R112's free choice)"),
    "chain_capture.depth3.segment3.square8": _SHORT_LANDING + " (height 5, distance 4)",
    "chain_capture.depth3.segment3.square19": _SHORT_LANDING + " (height 5, distance 4)",
    "chain_capture.depth3.segment1.hexagonal": _SHORT_LANDING + " (height 3, distance 2)",
    "chain_capture.depth3.segment3.hexagonal": _SHORT_LANDING,
    "hex_edge_case.edge_chain.segment2.hexagonal": _SHORT_LANDING,
    "forced_elimination.anm_guard.hexagonal": _NO_PENDING_ELIM + "; also a 1-player fixture",
    "meta.swap_sides.after_p1_first_move.square8": (
        "player 2 is in movement with no stacks at its first turn; the pie rule is offered at "
        "the start of player 2's first turn (RR-CANON-R180), i.e. in ring_placement "
        "(RR-CANON-R070), and our engine offers swap_sides only there"),
    "near_victory_territory.process.multi_cell_region": (
        _NOT_DISCONNECTED + "; the fixture itself says isDisconnected: false"),
    "territory.square_region_then_elim.step1_region": _NOT_DISCONNECTED,
    "territory.square_two_regions_then_elim.step1_regionB": _NOT_DISCONNECTED,
    "territory.square_two_regions_then_elim.step3_elim": _NO_PENDING_ELIM,
    "territory.square19_two_regions_then_elim.step1_regionB": _NOT_DISCONNECTED,
    "territory.square19_two_regions_then_elim.step3_elim": _NO_PENDING_ELIM,
    "territory.hex_two_regions_then_elim.step1_regionB": _NOT_DISCONNECTED,
    "territory.hex_two_regions_then_elim.step3_elim": _NO_PENDING_ELIM,
    "chain_capture.4_targets.diagonal_with_turn_theoretical": _SHORT_LANDING + " (6,6: 2 < 3)",
    "chain_capture.depth3.segment2.hexagonal": (
        "stale fixture: phase line_processing but the move is continue_capture_segment "
        "(RR-CANON-R070)"),
    "forced_elimination.monotone_chain.step1.square8": _NO_PENDING_ELIM + "; 1-player fixture",
    "forced_elimination.monotone_chain.step2.square8": (
        "1-player fixture; eliminate_rings_from_stack in ring_placement, where only placement "
        "moves are legal (RR-CANON-R070)"),
    "forced_elimination.monotone_chain.final.square8": (
        "1-player fixture; eliminate_rings_from_stack in ring_placement, where only placement "
        "moves are legal (RR-CANON-R070)"),
    "forced_elimination.territory_explicit.square8": _NO_PENDING_ELIM,
    "multi_phase.line_then_multi_region_territory.square8.step1_line": (
        "choose_line_option collapses 3 of an exact-length (4) line; the partial-collapse "
        "option exists only for overlength lines (RR-CANON-R122)"),
    "multi_phase.line_then_multi_region_territory.square8.step2_regionB": _NOT_DISCONNECTED,
    "multi_phase.line_then_multi_region_territory.square8.step3_regionA": _NOT_DISCONNECTED,
    "territory.hex_region_then_elim.step1_region": _NOT_DISCONNECTED,
    "territory.hex_region_then_elim.step2_elim": _WRONG_PLAYER,
    "territory.square_region_then_elim.step2_elim": _WRONG_PLAYER,
    "territory_processing.mizw0rb1.wpbd": _NOT_DISCONNECTED,
}

def _s(state: GameState) -> int:
    """S = markers + collapsed + eliminated rings, E counted as credited eliminations."""
    p = state.num_players
    elim = int(state.meta[K.M_ELIM + 1: K.M_ELIM + 1 + p].sum())
    return int(np.count_nonzero(state.marker) + np.count_nonzero(state.collapsed) + elim)


def _cell(state: GameState, pos: dict) -> int:
    key = f"{pos['x']},{pos['y']}"
    if state.board.is_hex:
        key += f",{pos.get('z', -pos['x'] - pos['y'])}"
    return state.board.cell(key)


def _follow_chain(state: GameState, sequence: list[dict]) -> tuple[GameState, int]:
    """Apply the chain segments 2.. of ``sequence`` while the chain is open."""
    applied = 0
    for seg in sequence[1:]:
        if state.phase != "chain_capture":
            break
        frm = state.meta[K.M_CHAIN]
        move = {"type": "continue_capture_segment", "player": state.current_player,
                "from": seg.get("from"), "captureTarget": seg["captureTarget"],
                "to": seg["landing"]}
        assert frm == _cell(state, seg["from"]), f"chain is at {state.board.keys[frm]}"
        state = _apply(state, move_from_reference(move))
        applied += 1
    return state, applied


_UNVALIDATED: list[str] = []  # moves of the current vector applied with validate=False


def _apply(state: GameState, move: Move) -> GameState:
    """Apply ``move`` validated when it is legal here; otherwise apply its effects as given,
    as the reference's runner does (it checks transitions, not legality)."""
    try:
        return apply_move(state, move)
    except IllegalMoveError as e:
        _UNVALIDATED.append(str(e))
        return apply_move(state, move, validate=False)


def _resolve(state: GameState, move: dict) -> Move:
    """The legal move that the reference move JSON names. Some vectors leave out fields the
    engine needs (``recoveryMode``, ``formedLines``, ``disconnectedRegions``); those are
    matched on the fields given, and must name exactly one legal move."""
    if move["type"] == "recovery_slide" and "recoveryMode" not in move and "option" in move:
        move = {**move, "recoveryMode": "line", "recoveryOption": move["option"]}
    try:
        return move_from_reference(move)
    except ValueError:
        pass
    given = {k: _pos(move[r]) for k, r in (("frm", "from"), ("to", "to")) if move.get(r)}
    if move.get("option") is not None:
        given["opt"] = move["option"]
    if move.get("collapsePositions"):
        given["collapse"] = tuple(sorted(_pos(p) for p in move["collapsePositions"]))
    found = [m for m in legal_moves(state) if m.type == move["type"] and m.player == move["player"]
             and all(getattr(m, k) == p for k, p in given.items())]
    if len(found) != 1:
        raise IllegalMoveError(f"{move['type']} {given}: {len(found)} legal moves match")
    return found[0]


def _pos(d: dict) -> tuple:
    return (d["x"], d["y"]) if d.get("z") is None else (d["x"], d["y"], d["z"])


def _finish_turn_bookkeeping(state: GameState, mover: int, phase: str | None) -> GameState:
    """Apply the mover's forced phase exits (``no_line_action``, ``no_territory_action``)
    that a host synthesises (RR-CANON-R075), unless the vector asserts the phase we are in
    (like the reference runner, which resolves a chain only when its end is asserted)."""
    while state.is_active and state.current_player == mover and state.phase != phase:
        moves = legal_moves(state)
        if len(moves) != 1 or moves[0].type not in ("no_line_action", "no_territory_action"):
            break
        state = apply_move(state, moves[0])
    return state


def run_vector(v: dict) -> dict:
    """Apply the vector's move; returns {assertion key: our value} for every key it asserts."""
    inp, expected = v["input"], v["expectedOutput"]
    move = inp.get("move") or inp["initialMove"]
    extras = _extras(v["id"], inp["state"], move)
    before = state_from_reference(_with_opponent(inp["state"]), extras)
    resolved = _resolve(before, move)
    after = _apply(before, resolved)
    captures = int(move["type"] in ("overtaking_capture", "continue_capture_segment"))
    if "expectedChainSequence" in inp:
        after, more = _follow_chain(after, inp["expectedChainSequence"])
        captures += more
    phase = expected["assertions"].get("currentPhase")
    after = _finish_turn_bookkeeping(after, move["player"], phase)
    return {k: _value(k, before, after, move, resolved, captures, expected)
            for k in expected["assertions"]}


def _extras(vid: str, state: dict, move: dict) -> dict:
    """Trace-style extras: the rules options a vector needs, and the capture-phase attacker
    that the reference reads from the last move (RR-CANON-R093) when the vector has no
    moveHistory: the stack the capture starts from is the one that just moved."""
    extras = dict(EXTRAS.get(vid, {}))
    if state["currentPhase"] == "capture" and not state["moveHistory"] and move.get("from"):
        f = move["from"]
        extras["chainCaptureState"] = {"currentPosition": f}
    return extras


def _with_opponent(state: dict) -> dict:
    """One-player fixtures get an idle opponent (full hand, nothing on board): the engine
    plays 2-4 players (RR-CANON-R001), and no assertion of those vectors concerns player 2."""
    if len(state["players"]) != 1:
        return state
    p1 = state["players"][0]
    rpp = p1["ringsInHand"] + sum(r == 1 for st in state["board"]["stacks"].values()
                                  for r in st["rings"]) + p1["eliminatedRings"]
    p2 = {"playerNumber": 2, "ringsInHand": rpp, "eliminatedRings": 0, "territorySpaces": 0}
    return {**state, "players": [p1, p2], "maxPlayers": 2}


def _value(key, before, after, move, resolved, captures, expected):
    """Our value for assertion ``key``, from the states before and after the vector's move."""
    m = after.meta
    if key.startswith("player") and key[6].isdigit():
        p, field = int(key[6]), key[7:]
        offset = {"RingsInHand": K.M_HAND, "EliminatedRings": K.M_ELIM,
                  "TerritorySpaces": K.M_TERR}[field]
        return int(m[offset + p])
    landing = _cell(after, move["to"]) if move.get("to") else -1
    final = expected.get("finalState", {}).get("finalStackPosition")
    final_cell = _cell(after, final) if final else landing
    values = {
        "currentPlayer": lambda: after.current_player,
        "currentPhase": lambda: after.phase,
        "gameStatus": lambda: "active" if after.is_active else "completed",
        "stackCount": lambda: int(np.count_nonzero(after.height)),
        "markerCount": lambda: int(np.count_nonzero(after.marker)),
        "collapsedCount": lambda: int(np.count_nonzero(after.collapsed)),
        "sInvariantDelta": lambda: _s(after) - _s(before),
        "victoryWinner": lambda: after.winner,
        "victoryReason": lambda: {"territory": "territory_control"}.get(
            after.victory_reason, after.victory_reason),
        "pendingDecisionType": lambda: (
            "select_line_to_process" if after.phase == "line_processing"
            and any(x.type == "process_line" for x in legal_moves(after)) else None),
        "totalCapturesInChain": lambda: captures,
        "markersCreated": lambda: int(np.count_nonzero(after.marker)
                                      - np.count_nonzero(before.marker)),
        "finalStackHeight": lambda: int(after.height[final_cell]),
        "finalStackController": lambda: (after.stack(final_cell) or [None])[-1],
        "targetStacksRemaining": lambda: sum(
            1 for c in np.nonzero(after.height)[0] if after.stack(c)[-1] != move["player"]),
        "extractionCount": lambda: len(resolved.extract or ()),
        "noLineCollapse": lambda: int(np.count_nonzero(after.collapsed)) == int(
            np.count_nonzero(before.collapsed)),
    }
    return values[key]()


def _mismatches(v: dict) -> dict:
    try:
        ours = run_vector(v)
    except ValueError as e:  # IllegalMoveError included
        return {"move": f"{type(e).__name__}: {e}"}
    expected = v["expectedOutput"]["assertions"]
    return {k: (expected[k], ours[k]) for k in expected if ours[k] != expected[k]}


def _moves_are_legal(v: dict) -> bool:
    """True when every move of the vector (initial move and chain segments) is legal."""
    _UNVALIDATED.clear()
    run_vector(v)
    return not _UNVALIDATED


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_contract_vector(vector):
    vid = vector["id"]
    diff = _mismatches(vector)
    reason = KNOWN_DIVERGENT.get(vid)
    keys, why = TRUSTED_EXCEPTIONS.get(vid, (set(), ""))
    if reason is None:
        assert set(diff) == keys, f"{vid}: {{key: (expected, ours)}} = {diff} {why}"
    else:
        assert diff, f"{vid} is listed as divergent ({reason}) but now passes"


_CONVERGENT = [v for v in VECTORS if v["id"] not in KNOWN_DIVERGENT]


@pytest.mark.parametrize("vector", _CONVERGENT, ids=[v["id"] for v in _CONVERGENT])
def test_contract_vector_move_legality(vector):
    """A vector's moves are legal in their states unless `ILLEGAL_MOVES` says why not."""
    vid = vector["id"]
    assert _moves_are_legal(vector) == (vid not in ILLEGAL_MOVES), ILLEGAL_MOVES.get(vid, vid)


def test_contract_lists_are_consistent():
    ids = {v["id"] for v in VECTORS}
    assert len(ids) == 92
    assert not TRUSTED & set(KNOWN_DIVERGENT), "every trusted vector must pass"
    assert set(TRUSTED_EXCEPTIONS) <= TRUSTED
    # pendingDecisionType is not checked by the reference runner; only the recovery conflict
    # touches a key it checks
    assert {k for keys, _ in TRUSTED_EXCEPTIONS.values() for k in keys} & REFERENCE_KEYS == {
        "gameStatus"}
    assert set(KNOWN_DIVERGENT) <= ids and set(ILLEGAL_MOVES) <= ids
    assert not set(KNOWN_DIVERGENT) & set(ILLEGAL_MOVES)
