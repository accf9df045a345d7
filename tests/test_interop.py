"""Reference-JSON interop: lossless state round trip, reference-complete JSON (the same legal
moves and next state without our private block, at every trace step), agreement with the
trace serialization, canonical move text and reference move JSON, and errors that name the
malformed field."""

import copy
import itertools

import numpy as np
import pytest
from reference import TRACES, trace_games
from replay import replay

from ringrift_ray.game import (
    apply_record_inplace,
    constants,
    find_legal_record,
    legal_move_records,
    legal_moves,
    move_from_reference,
    move_from_text,
    move_to_reference,
    move_to_text,
    new_game,
    ply,
    state_from_reference,
    state_to_reference,
)

BOARDS = ("square8", "hex8", "square19", "hexagonal")
ARRAYS = ("rings", "height", "marker", "collapsed", "order", "meta")
STATE_KEYS = ("board", "players", "currentPlayer", "currentPhase", "gameStatus", "winner",
              "turnNumber", "historyLength", "victoryThreshold", "territoryVictoryThreshold",
              "territoryVictoryMinimum", "totalRingsEliminated", "totalRingsInPlay",
              "maxPlayers")
EXTRAS_KEYS = ("mustMoveFromStackKey", "pendingLineRewardElimination", "lpsRoundIndex",
               "lpsCurrentRoundActorMask", "lpsExclusivePlayerForCompletedRound",
               "lpsCurrentRoundFirstPlayer", "lpsConsecutiveExclusiveRounds",
               "lpsRoundsRequired", "lpsConsecutiveExclusivePlayer")
# trace -> games checked (big boards: the first game only; the gzip JSON is slow to read)
TRACE_GAMES = {"square8_2p": None, "square8_3p": None, "square8_4p": None, "hex8_2p": None,
               "square19_2p": 1, "hexagonal_2p": 1}


def sampled_states(board_type: str, num_players: int, seed: int = 0, every: int = 10):
    """Every ``every``-th state of one uniformly random game, the final state included."""
    rng = np.random.default_rng(seed)
    state = new_game(board_type, num_players)
    n = 0
    while True:
        if n % every == 0 or not state.is_active:
            yield state.copy()
        if not state.is_active:
            return
        records = legal_move_records(state)
        apply_record_inplace(state, records[rng.integers(len(records))])
        n += 1


def trace_steps(name: str):
    """(state, state_extras, step-or-end record) of the sampled games of a trace."""
    for _start, steps, end in itertools.islice(trace_games(name), TRACE_GAMES[name]):
        for d in steps:
            yield d["state"], d["state_extras"], d
        yield end["final_state"], end["final_state_extras"], end


@pytest.mark.parametrize("num_players", [2, 3, 4])
@pytest.mark.parametrize("board_type", BOARDS)
def test_state_round_trip_is_lossless(board_type, num_players):
    for state in sampled_states(board_type, num_players):
        again = state_from_reference(*state_to_reference(state))
        for name in ARRAYS:
            a, b = getattr(state, name), getattr(again, name)
            assert a.shape == b.shape and np.array_equal(a, b), (
                f"{name} differs after the round trip of {state}")


@pytest.mark.parametrize("board_type", BOARDS)
def test_stacks_are_written_in_creation_order(board_type):
    # the reference's stack-map order decides recovery extraction; a reader without our
    # ringriftRay block must recover the same relative order of the stacks
    for state in sampled_states(board_type, 3):
        ref, extras = state_to_reference(state)
        keys = list(ref["board"]["stacks"])
        assert [int(state.order[state.board.cell(k)]) for k in keys] == sorted(
            int(state.order[c]) for c in np.nonzero(state.height)[0])
        plain = state_from_reference(ref, {k: v for k, v in extras.items() if k != "ringriftRay"})
        assert [int(plain.order[plain.board.cell(k)]) for k in keys] == list(range(len(keys)))


def test_state_to_reference_writes_reference_formats():
    state = next(s for s in sampled_states("hex8", 2, every=1) if s.height.any() and s.marker.any())
    ref, extras = state_to_reference(state)
    key, stack = next(iter(ref["board"]["stacks"].items()))
    x, y, z = (int(v) for v in key.split(","))
    assert stack["position"] == {"x": x, "y": y, "z": z}
    c = state.board.cell(key)
    assert stack["rings"] == state.stack(c)[::-1]  # top ring first
    assert stack["controllingPlayer"] == stack["rings"][0]
    assert ref["board"]["type"] == "hex8" and ref["board"]["size"] == 9
    assert ref["territoryVictoryThreshold"] == 61 // 2 + 1
    assert extras["rulesOptions"] == {"swapRuleEnabled": False}
    square, _ = state_to_reference(new_game("square8", 3))
    assert square["territoryVictoryMinimum"] == 64 // 3 + 1
    assert square["gameStatus"] == "active" and square["winner"] is None


@pytest.mark.parametrize("name", sorted(TRACE_GAMES))
def test_state_to_reference_reproduces_trace_states(name):
    for ref, ref_extras, d in trace_steps(name):
        ours, ours_extras = state_to_reference(state_from_reference(ref, ref_extras))
        where = f"{name} game {d['game']} step {d.get('step', 'end')}"
        for key in STATE_KEYS:
            if key in ref:  # 2-player traces omit territoryVictoryMinimum
                assert ours[key] == ref[key], f"{where}: {key}"
        for key in EXTRAS_KEYS:
            assert ours_extras[key] == ref_extras[key], f"{where}: extras {key}"
        chain = ref_extras["chainCaptureState"]
        if chain is not None and ref["currentPhase"] == "chain_capture":
            pos = {k: v for k, v in chain["currentPosition"].items() if v is not None}
            assert ours_extras["chainCaptureState"]["currentPosition"] == pos, where


# ---- reference-complete JSON: no private block needed for legality and the next state -----

ALL_TRACES = sorted(p.name.removesuffix(".jsonl.gz") for p in TRACES.glob("*.jsonl.gz"))
COMPLETE_GAMES = 1  # games per trace in the default run; --full checks every game


def reference_view(state) -> tuple[dict, dict]:
    """``state_to_reference`` without our private ``ringriftRay`` block."""
    ref, extras = state_to_reference(state)
    return ref, {k: v for k, v in extras.items() if k != "ringriftRay"}


def _sorted_records(state) -> np.ndarray:
    recs = legal_move_records(state)
    return recs[np.lexsort(recs.T[::-1])]


def check_reference_complete(state, move_text: str) -> None:
    """Written JSON read back without the private block: same legal moves as ``state`` and,
    after ``move_text``, the same next state (compared as the reference sees it)."""
    back = state_from_reference(*reference_view(state))
    assert np.array_equal(_sorted_records(back), _sorted_records(state)), state
    nxt = state.copy()
    apply_record_inplace(nxt, find_legal_record(nxt, move_text))
    apply_record_inplace(back, find_legal_record(back, move_text))
    assert reference_view(back) == reference_view(nxt), f"after {move_text}"


def _check_trace_complete(name: str, games: range | None) -> None:
    for i, (_start, steps, end) in enumerate(trace_games(name)):
        if games is not None and i >= games.stop:
            break
        if games is None or i in games:
            assert not replay(steps, end, on_step=check_reference_complete).problems


@pytest.mark.parametrize("name", ALL_TRACES)
def test_reference_json_is_complete_at_every_trace_step(name):
    # every step of our replay of the trace (our states, all flags exact), first game(s)
    _check_trace_complete(name, range(COMPLETE_GAMES))


@pytest.mark.full
@pytest.mark.parametrize("name", ALL_TRACES)
def test_reference_json_is_complete_at_every_trace_step_full(name):
    _check_trace_complete(name, None)


@pytest.mark.parametrize("board_type", BOARDS)
def test_reference_json_is_complete_in_random_games(board_type):
    for num_players in (2, 3, 4):
        for state in sampled_states(board_type, num_players, seed=num_players, every=3):
            if state.is_active:
                move = legal_moves(state)[-1]  # bookkeeping and decision moves sort last
                check_reference_complete(state, move_to_text(move))


def test_move_history_holds_the_last_movers_trailing_moves():
    # capture phase: the attacker is the landing of the last move (R093); a pending region
    # self-elimination: the last move is the region choice (R145)
    seen = set()
    for ref, extras, d in trace_steps("square8_2p"):
        if ref["currentPhase"] not in ("capture", "territory_processing") or "step" not in d:
            continue
        state = state_from_reference(ref, extras)
        ours = state_to_reference(state)[0]["moveHistory"]
        theirs = ref["moveHistory"]
        assert (ours[-1]["type"], ours[-1]["player"]) == (theirs[-1]["type"],
                                                          theirs[-1]["player"])
        assert ours[-1]["moveNumber"] == theirs[-1]["moveNumber"] == ref["historyLength"]
        if ref["currentPhase"] == "capture":
            assert ours[-1]["to"] == theirs[-1]["to"]
        seen.add((ref["currentPhase"], ours[-1]["type"]))
    assert {("capture", "move_stack"),
            ("territory_processing", "choose_territory_option")} <= seen
    assert state_to_reference(new_game("square8", 2))[0]["moveHistory"] == []


def test_missing_territory_minimum_is_canonical_unless_asked_for_legacy():
    ref, _ = state_to_reference(new_game("square8", 3))
    assert ref.pop("territoryVictoryMinimum") == 64 // 3 + 1
    tmin = constants.M_TERRITORY_MIN
    assert state_from_reference(ref).meta[tmin] == 64 // 3 + 1  # RR-CANON-R062
    legacy = state_from_reference(ref, missing_territory_minimum="legacy")
    assert legacy.meta[tmin] == 64 // 2 + 1
    ref["territoryVictoryMinimum"] = 30  # a present field wins
    assert state_from_reference(ref, missing_territory_minimum="legacy").meta[tmin] == 30
    with pytest.raises(ValueError, match="missing_territory_minimum"):
        state_from_reference(ref, missing_territory_minimum="half")


# ---- moves ----------------------------------------------------------------------------------

@pytest.mark.parametrize("board_type", BOARDS)
def test_move_to_reference_round_trips_every_legal_move(board_type):
    seen = set()
    for num_players in (2, 3, 4):
        for state in itertools.islice(sampled_states(board_type, num_players, every=5), 40):
            for move in legal_moves(state):
                j = move_to_reference(move, ply(state) + 1,
                                      state.phase)
                assert move_from_reference(j) == move, j
                seen.add(move.type)
    assert {"place_ring", "move_stack", "overtaking_capture", "no_line_action"} <= seen


_IGNORED = {"id", "placedOnStack", "eliminatedRings"}  # ids and derived counts
_UNORDERED = {"formedLines", "collapsedMarkers", "disconnectedRegions", "collapsePositions"}


def _canonical(key: str, v):
    if key == "formedLines":
        return [{**line, "positions": sorted(map(str, line["positions"])),
                 "direction": None} for line in v]
    if key == "disconnectedRegions":
        return [{**r, "spaces": sorted(map(str, r["spaces"]))} for r in v]
    return sorted(map(str, v))


@pytest.mark.parametrize("name", sorted(TRACE_GAMES))
def test_move_to_reference_writes_the_trace_moves(name):
    # the reference's move JSON up to ids, derived counts and the order of position lists
    # (a line or region's ``to`` is its first position in the reference's own order)
    for _, _, d in trace_steps(name):
        if "chosen_move" not in d:
            continue
        cm = d["chosen_move"]
        ours = move_to_reference(move_from_reference(cm), cm["moveNumber"], cm["phase"])
        keys = (set(cm) | set(ours)) - _IGNORED
        if cm["type"] in ("forced_elimination",):
            keys -= {"placementCount"}  # the reference writes placementCount 0 here
        if cm["type"] in ("skip_placement", "process_line", "choose_line_option",
                          "choose_territory_option"):
            keys -= {"to"}
        for key in keys:
            a, b = cm.get(key), ours.get(key)
            if key in _UNORDERED:
                a, b = _canonical(key, a), _canonical(key, b)
            assert a == b, f"{d['chosen']}: {key}"


@pytest.mark.parametrize("name", sorted(TRACE_GAMES))
def test_move_from_reference_gives_the_trace_text(name):
    for _, _, d in trace_steps(name):
        if "chosen_move" in d:
            assert move_to_text(move_from_reference(d["chosen_move"])) == d["chosen"]


@pytest.mark.parametrize("board_type", BOARDS)
def test_move_text_round_trips_every_legal_move(board_type):
    seen = set()
    for num_players in (2, 3, 4):
        for state in itertools.islice(sampled_states(board_type, num_players, every=7), 30):
            for move in legal_moves(state):
                text = move_to_text(move)
                assert move_from_text(text) == move, text
                assert move_to_text(move_from_text(text)) == text
                seen.add(move.type)
    assert {"place_ring", "move_stack", "overtaking_capture", "no_line_action"} <= seen


# ---- malformed input ------------------------------------------------------------------

def _square8_state() -> dict:
    ref, _ = state_to_reference(new_game("square8", 2))
    ref["board"]["stacks"]["3,3"] = {"position": {"x": 3, "y": 3}, "rings": [1],
                                     "stackHeight": 1, "capHeight": 1, "controllingPlayer": 1}
    return ref


def test_valid_hand_built_state_loads():
    state = state_from_reference(_square8_state())
    assert state.stack(state.board.cell("3,3")) == [1]


def _broken(edit) -> dict:
    ref = copy.deepcopy(_square8_state())
    edit(ref)
    return ref


@pytest.mark.parametrize("edit, field", [
    (lambda s: s.pop("board"), "state.board"),
    (lambda s: s["board"]["stacks"].update({"9,9": s["board"]["stacks"]["3,3"]}), "'9,9'"),
    (lambda s: s["board"]["markers"].update({"8,0": {"player": 1}}), "'8,0'"),
    (lambda s: s["board"]["stacks"]["3,3"].update(rings=[7]), "rings"),
    (lambda s: s["board"]["stacks"]["3,3"].update(rings=[]), "rings"),
    (lambda s: s.update(currentPhase="bidding"), "state.currentPhase"),
    (lambda s: s.update(currentPlayer=3), "state.currentPlayer"),
    (lambda s: s["players"][0].pop("ringsInHand"), "ringsInHand"),
    (lambda s: s["board"].update(type="square9"), "state.board.type"),
])
def test_malformed_state_raises_value_error_naming_the_field(edit, field):
    with pytest.raises(ValueError, match=field.replace("[", r"\[")):
        state_from_reference(_broken(edit))


def test_malformed_own_meta_raises():
    with pytest.raises(ValueError, match="ringriftRay.meta.M_BOGUS"):
        state_from_reference(_square8_state(), {"ringriftRay": {"meta": {"M_BOGUS": 1}}})


@pytest.mark.parametrize("move, field", [
    (["place_ring"], "move: expected an object"),
    ({"type": "teleport", "player": 1}, "move.type"),
    ({"type": "place_ring", "player": "one"}, "move.player"),
    ({"type": "move_stack", "player": 1, "to": {"x": 1, "y": 1}}, "move.from"),
    ({"type": "place_ring", "player": 1, "to": {"x": "a", "y": 1}}, "move.to"),
])
def test_malformed_reference_move_raises_value_error_naming_the_field(move, field):
    with pytest.raises(ValueError, match=field):
        move_from_reference(move)


@pytest.mark.parametrize("text, field", [
    ("place_ring px", "player token"),
    ("place_ring", "player token"),
    ("", "non-empty"),
    ("teleport p1", "unknown move type"),
    ("place_ring p1 to=3,4", "missing field n="),
    ("place_ring p1 to=3;4 n=1", "field to"),
    ("move_stack p1 from=1,1 to=2,2 n=3", "unexpected field"),
    ("eliminate_rings_from_stack p1 to=1,1 ctx=bogus", "unknown context"),
    ("recovery_slide p1 from=1,1 to=1,2 mode=warp", "unknown recovery mode"),
])
def test_bad_move_text_raises_value_error_naming_the_part(text, field):
    with pytest.raises(ValueError, match=field):
        move_from_text(text)
