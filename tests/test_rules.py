"""Rule families on small hand-built square8 positions (minigo-style ASCII boards).

Each test draws a position, loads it through the reference serialization and checks the
legal moves (canonical texts) or the result of ``apply_move``. Where the reference engine
departs from the written rules, the traces decide and the test says so.
"""

import numpy as np
import pytest

from ringrift_ray.game import IllegalMoveError, apply_move, legal_moves, move_to_text, ranks
from ringrift_ray.game import constants as K
from ringrift_ray.game.geometry import board
from ringrift_ray.game.interop import state_from_reference

EMPTY_ROW = ". . . . . . . ."


def position(diagram: str, *, players: int = 2, to_move: int = 1, phase: str = "movement",
             hand: dict | None = None, credited: dict | None = None):
    """A square8 `GameState` from an ASCII diagram, row ``y = 0`` first, ``x`` across.

    Cells: ``.`` empty, ``m2`` marker of player 2, ``#1`` collapsed space of player 1, and a
    stack as its ring colours **top first** (``112``: two rings of player 1 on a ring of 2).
    Missing rows are empty. ``hand`` defaults to the rings of each colour not on the board;
    ``credited`` (rings credited as eliminated) to 0; territory counts the ``#p`` cells.
    """
    b = board("square8")
    rows = [r.split() for r in diagram.strip().splitlines()]
    rows += [EMPTY_ROW.split()] * (b.size - len(rows))
    stacks, markers, collapsed = {}, {}, {}
    on_board = dict.fromkeys(range(1, players + 1), 0)
    for y, row in enumerate(rows):
        assert len(row) == b.size, f"row {y} has {len(row)} cells"
        for x, tok in enumerate(row):
            key, pos = f"{x},{y}", {"x": x, "y": y}
            if tok.startswith("m"):
                markers[key] = {"position": pos, "player": int(tok[1:])}
            elif tok.startswith("#"):
                collapsed[key] = int(tok[1:])
            elif tok != ".":
                rings = [int(ch) for ch in tok]
                for r in rings:
                    on_board[r] += 1
                cap = next((i for i, r in enumerate(rings) if r != rings[0]), len(rings))
                stacks[key] = {"position": pos, "rings": rings, "stackHeight": len(rings),
                               "capHeight": cap, "controllingPlayer": rings[0]}
    hand, credited = hand or {}, credited or {}
    state = {
        "board": {"type": "square8", "size": b.size, "stacks": stacks, "markers": markers,
                  "collapsedSpaces": collapsed, "eliminatedRings": {}},
        "players": [{"playerNumber": p,
                     "ringsInHand": hand.get(p, b.rings_per_player - on_board[p]),
                     "eliminatedRings": credited.get(p, 0),
                     "territorySpaces": sum(v == p for v in collapsed.values())}
                    for p in range(1, players + 1)],
        "currentPlayer": to_move, "currentPhase": phase, "gameStatus": "active",
        "winner": None, "turnNumber": 10, "historyLength": 10, "moveHistory": [],
        "maxPlayers": players,
    }
    return state_from_reference(state)


def no_hands(players: int = 2) -> dict:
    return dict.fromkeys(range(1, players + 1), 0)


def texts(state) -> list[str]:
    return sorted(move_to_text(m) for m in legal_moves(state))


def at(state, key: str) -> list[int]:
    """Ring colours of the stack at ``key``, bottom -> top."""
    return state.stack(state.board.cell(key))


def marker(state, key: str) -> int:
    return int(state.marker[state.board.cell(key)])


def collapsed(state, key: str) -> int:
    return int(state.collapsed[state.board.cell(key)])


def finish_turn(state):
    """Apply the forced (single) decisions until the turn passes or the game ends."""
    player = state.current_player
    while state.is_active and state.current_player == player:
        moves = texts(state)
        assert len(moves) == 1, f"expected one forced move, got {moves}"
        state = apply_move(state, moves[0])
    return state


# ---- placement (RR-CANON-R080..R082) ------------------------------------------------------

def test_placement_on_an_empty_board_is_one_to_three_rings_anywhere():
    moves = texts(position("", phase="ring_placement"))
    assert len(moves) == 64 * 3
    assert moves[:3] == [f"place_ring p1 to=0,0 n={n}" for n in (1, 2, 3)]


def test_placement_one_ring_on_a_stack_none_on_markers_or_collapsed():
    s = position("""
        . . . . . . . .
        . . . . . . . .
        . . . 2 . . . .
        . . . . m1 . . .
        . . . . . #2 . .
    """, phase="ring_placement")
    moves = texts(s)
    assert [m for m in moves if "to=3,2 " in m] == ["place_ring p1 to=3,2 n=1"]
    assert not [m for m in moves if "to=4,3 " in m or "to=5,4 " in m]
    assert len(moves) == 61 * 3 + 1


def test_placement_count_is_limited_by_rings_in_hand():
    moves = texts(position("", phase="ring_placement", hand={1: 2, 2: 18}))
    assert len(moves) == 64 * 2 and not [m for m in moves if m.endswith("n=3")]


def test_placement_needs_a_legal_move_for_the_placed_stack():
    s = position("""
        . #1 . . . . . .
        #1 #1 . . . . . .
        . . . . . . 2 .
    """, phase="ring_placement")
    assert not [m for m in texts(s) if "to=0,0 " in m]  # boxed in: a dead placement


def test_placement_is_mandatory_without_stacks_and_skippable_with_a_movable_one():
    assert "skip_placement p1" not in texts(position(". . . . . . . 2", phase="ring_placement"))
    assert "skip_placement p1" in texts(position("1 . . . . . . 2", phase="ring_placement"))


def test_skip_placement_is_offered_with_only_blocked_stacks_as_the_reference_does():
    # RR-CANON-R080 would make placement mandatory here; the reference engine offers
    # skip_placement whenever the player controls a stack (trace square8_4p game 1 step 89).
    s = position("""
        1 222 . . . . . .
        222 222 . . . . . .
    """, phase="ring_placement", hand={1: 3, 2: 0})
    moves = texts(s)
    assert "skip_placement p1" in moves
    assert not [m for m in moves if "to=0,0 " in m]  # a ring on 0,0 still could not move
    after = apply_move(s, "skip_placement p1")
    assert after.phase == "movement" and texts(after) == ["no_movement_action p1"]


def test_placement_with_nothing_in_hand_is_a_no_placement_action():
    s = position("1 . . . . . . 2", phase="ring_placement", hand=no_hands())
    assert texts(s) == ["no_placement_action p1"]
    assert apply_move(s, "no_placement_action p1").phase == "movement"


# ---- movement (RR-CANON-R090..R092) -------------------------------------------------------

def test_movement_distance_at_least_height_and_blocked_by_stacks_and_collapsed():
    s = position("""
        11 . . . . . . .
        . . . . . . . .
        . . . . . . . .
        222 . . . . . . .
        . . . . . . . .
        . . . . . . . .
        . . . . . . . .
        . . . . . . . #2
    """, hand=no_hands())
    assert texts(s) == sorted(
        ["move_stack p1 from=0,0 to=0,2"]
        + [f"move_stack p1 from=0,0 to={d},0" for d in range(2, 8)]
        + [f"move_stack p1 from=0,0 to={d},{d}" for d in range(2, 7)])


def test_movement_over_markers_departure_marker_collapse_and_flip():
    s = position("11 m1 m2 . m2 . . 2", hand=no_hands())
    assert [m for m in texts(s) if "to=4,0" in m or "to=5,0" in m]  # markers are passable
    after = apply_move(s, "move_stack p1 from=0,0 to=3,0")
    assert marker(after, "0,0") == 1  # departure marker
    assert collapsed(after, "1,0") == 1 and marker(after, "1,0") == 0  # own marker collapses
    assert marker(after, "2,0") == 1  # opponent marker flips
    assert at(after, "3,0") == [1, 1] and after.territory(1) == 1


def test_landing_on_a_marker_removes_it_and_eliminates_the_top_ring():
    s = position("11 . . . m2 . . 2", hand=no_hands())
    after = apply_move(s, "move_stack p1 from=0,0 to=4,0")
    assert at(after, "4,0") == [1] and marker(after, "4,0") == 0
    assert after.eliminated_rings(1) == 1
    assert after.meta[K.M_BOARD_ELIM + 1] == s.meta[K.M_BOARD_ELIM + 1] + 1


# ---- capture (RR-CANON-R100..R103) --------------------------------------------------------

CAPTURE = """
    11 . 22 . . 222 . .
    . . . . . . . .
    21 . . . . . . .
"""


def test_capture_needs_cap_height_at_least_the_targets_and_lands_beyond():
    s = position(CAPTURE, hand=no_hands())
    captures = [m for m in texts(s) if m.startswith("overtaking_capture")]
    assert captures == sorted(
        [f"overtaking_capture p1 from=0,0 cap=0,2 to=0,{y}" for y in range(3, 8)]
        + [f"overtaking_capture p1 from=0,0 cap=2,0 to={x},0" for x in (3, 4)])
    # 5,0 (cap 3 > 2) is neither capturable nor passable


def test_captured_top_ring_goes_to_the_bottom_of_the_attacker():
    s = position(CAPTURE, hand=no_hands())
    after = apply_move(s, "overtaking_capture p1 from=0,0 cap=0,2 to=0,4")
    assert at(after, "0,4") == [2, 1, 1]  # bottom -> top
    assert at(after, "0,2") == [1]  # the stack "21" lost its top ring (2)
    assert marker(after, "0,0") == 1


def test_chain_capture_is_mandatory_without_skip():
    s = position("""
        11 . . . . . . .
        . . . . . . . .
        2 . . . . . . .
        . . . . . . . .
        . . . . . . . .
        . 2 . . . . . .
    """, hand=no_hands())
    chain = apply_move(s, "overtaking_capture p1 from=0,0 cap=0,2 to=0,5")
    assert chain.phase == "chain_capture"
    assert texts(chain) == [f"continue_capture_segment p1 from=0,5 cap=1,5 to={x},5"
                            for x in range(3, 8)]
    done = apply_move(s, "overtaking_capture p1 from=0,0 cap=0,2 to=0,3")
    assert done.phase == "line_processing"  # no capture from 0,3: the chain ends


def test_skip_capture_is_offered_after_a_move_stack():
    s = position("""
        11 . . . . . . .
        . . . . . . . .
        . . . . . . . .
        . . . . . . . .
        . . . . . 2 . .
    """, hand=no_hands())
    assert not [m for m in texts(s) if "capture" in m]
    moved = apply_move(s, "move_stack p1 from=0,0 to=0,4")
    assert moved.phase == "capture"
    assert texts(moved) == ["overtaking_capture p1 from=0,4 cap=5,4 to=6,4",
                            "overtaking_capture p1 from=0,4 cap=5,4 to=7,4", "skip_capture p1"]
    assert apply_move(moved, "skip_capture p1").phase == "line_processing"


# ---- lines (RR-CANON-R120..R122) ----------------------------------------------------------

LINE4 = """
    m1 m1 m1 1 . . . .
    . . . . . . . .
    . . . . . . . .
    . . . . . . . .
    . . . . . . . .
    . . . . . . . 11
    . . . . . . . .
    . . . . . . 2 .
"""
ROW = "0,0;1,0;2,0;3,0"


def test_exact_length_line_collapses_then_costs_one_ring():
    s = apply_move(position(LINE4, hand=no_hands()), "move_stack p1 from=3,0 to=3,2")
    assert s.phase == "line_processing"
    assert texts(s) == [f"choose_line_option p1 line={ROW} collapse={ROW}",
                        f"process_line p1 line={ROW}"]
    for decision in texts(s):
        pending = apply_move(s, decision)
        assert all(collapsed(pending, f"{x},0") == 1 for x in range(4))
        assert pending.meta[K.M_PENDING_LINE_ELIM] == 1
        assert texts(pending) == ["eliminate_rings_from_stack p1 to=3,2 ctx=line",
                                  "eliminate_rings_from_stack p1 to=7,5 ctx=line"]
    paid = apply_move(pending, "eliminate_rings_from_stack p1 to=7,5 ctx=line")
    assert at(paid, "7,5") == [1] and paid.eliminated_rings(1) == 1  # one ring, not the cap
    assert paid.meta[K.M_PENDING_LINE_ELIM] == 0


def test_overlength_line_offers_whole_collapse_or_a_segment_without_cost():
    s = position(LINE4.replace("m1 m1 m1 1 .", "m1 m1 m1 m1 1"), hand=no_hands())
    s = apply_move(s, "move_stack p1 from=4,0 to=4,2")
    line = "0,0;1,0;2,0;3,0;4,0"
    assert texts(s) == [f"choose_line_option p1 line={line} collapse=0,0;1,0;2,0;3,0",
                        f"choose_line_option p1 line={line} collapse={line}",
                        f"choose_line_option p1 line={line} collapse=1,0;2,0;3,0;4,0",
                        f"process_line p1 line={line}"]
    segment = apply_move(s, f"choose_line_option p1 line={line} collapse=1,0;2,0;3,0;4,0")
    assert marker(segment, "0,0") == 1 and collapsed(segment, "4,0") == 1
    assert segment.phase == "territory_processing" and segment.eliminated_rings(1) == 0
    whole = apply_move(s, f"choose_line_option p1 line={line} collapse={line}")
    assert whole.meta[K.M_PENDING_LINE_ELIM] == 1
    assert texts(whole)[0].startswith("eliminate_rings_from_stack p1")


@pytest.mark.parametrize("players, line", [(2, False), (3, True), (4, True)])
def test_square8_line_length_is_three_with_three_or_more_players(players, line):
    rows = ["m1 m1 1 . . . . 2"] + [f". . . . . . . {p}" for p in range(3, players + 1)]
    s = position("\n".join(rows), players=players, hand=no_hands(players))
    s = apply_move(s, "move_stack p1 from=2,0 to=2,1")
    expected = (["choose_line_option p1 line=0,0;1,0;2,0 collapse=0,0;1,0;2,0",
                 "process_line p1 line=0,0;1,0;2,0"] if line else ["no_line_action p1"])
    assert texts(s) == expected


# ---- territory (RR-CANON-R140..R145) ------------------------------------------------------

def test_region_enclosed_by_one_colour_is_claimed_then_costs_a_whole_cap():
    s = position("""
        2 m1 . . . . . .
        11 . . . . . . .
        . . . . . . . .
        . . . . . . . .
        . . . . . . . .
        . . . . . 112 . .
        . . . . . . . .
        . . . . . . . 22
    """, hand=no_hands())
    s = finish_turn_until(apply_move(s, "move_stack p1 from=0,1 to=0,3"), "territory_processing")
    assert texts(s) == ["choose_territory_option p1 region=0,0", "skip_territory_processing p1"]
    claimed = apply_move(s, "choose_territory_option p1 region=0,0")
    assert [collapsed(claimed, k) for k in ("0,0", "1,0", "0,1")] == [1, 1, 1]  # + border
    assert claimed.territory(1) == 3 and claimed.eliminated_rings(1) == 1  # p2's ring inside
    assert texts(claimed) == ["eliminate_rings_from_stack p1 to=0,3 ctx=territory",
                              "eliminate_rings_from_stack p1 to=5,5 ctx=territory"]
    paid = apply_move(claimed, "eliminate_rings_from_stack p1 to=5,5 ctx=territory")
    assert at(paid, "5,5") == [2] and paid.eliminated_rings(1) == 3  # the whole cap of 2
    assert paid.current_player == 2


def finish_turn_until(state, phase: str):
    while state.phase != phase:
        moves = texts(state)
        assert len(moves) == 1, moves
        state = apply_move(state, moves[0])
    return state


CORNER = """
    1 m1 . . . . . .
    m1 . . . . . . .
    . . . . . . . .
    . . . . . . . .
    . . . . {} . . .
    . . . . . . . .
    . . . . . . . .
    . . . . . . . 22
"""


def test_territory_needs_a_stack_outside_the_region_to_pay():
    # p1's only stack is inside {0,0}: that region cannot be claimed, while the rest of the
    # board (only p2 inside) can, paid for by the stack on 0,0
    s = position(CORNER.format("."), phase="territory_processing", hand=no_hands())
    assert "choose_territory_option p1 region=0,0" not in texts(s)
    assert len(texts(s)) == 2 and texts(s)[-1] == "skip_territory_processing p1"
    s = position(CORNER.format("1"), phase="territory_processing", hand=no_hands())
    assert texts(s) == ["choose_territory_option p1 region=0,0", "skip_territory_processing p1"]


@pytest.mark.parametrize("right, below, claimable", [("m2", "m2", True), ("m2", "m1", False)])
def test_territory_border_must_be_a_single_colour(right, below, claimable):
    s = position(f"""
        2 {right} . . . . . .
        {below} . . . . . . .
        . . . . . . . .
        . . . . 1 . . .
        . . . . . . . 22
    """, phase="territory_processing", hand=no_hands())
    assert texts(s) == (["choose_territory_option p1 region=0,0", "skip_territory_processing p1"]
                        if claimable else ["no_territory_action p1"])


# ---- forced elimination (RR-CANON-R100, R205..R206) ---------------------------------------

def test_blocked_player_with_stacks_must_eliminate_a_whole_cap():
    s = position("""
        112 222 . . . . . .
        222 222 . . . . . .
    """, phase="ring_placement", hand={1: 0, 2: 5})
    s = finish_turn_until(s, "forced_elimination")
    assert texts(s) == ["forced_elimination p1 to=0,0"]
    after = apply_move(s, "forced_elimination p1 to=0,0")
    assert at(after, "0,0") == [2] and after.eliminated_rings(1) == 2


# ---- recovery (RR-CANON-R110..R115) -------------------------------------------------------

RECOVERY = """
    . . . . . . . .
    . . . . . . . .
    . . . . . . . .
    . . . m1 . . . .
    . . . 2 . . . .
    . . . . . . . .
    . . . . . . 21 .
"""


def test_recovery_eligible_player_may_slide_strike_or_skip():
    s = position(RECOVERY, phase="ring_placement", hand={1: 0, 2: 5})
    s = apply_move(s, "no_placement_action p1")
    fallback = [f"recovery_slide p1 from=3,3 to={k} mode=fallback extract=6,6"
                for k in ("2,2", "2,3", "2,4", "3,2", "4,2", "4,3", "4,4")]
    strike = "recovery_slide p1 from=3,3 to=3,4 mode=stack_strike extract=6,6"
    assert texts(s) == sorted(fallback + [strike, "skip_recovery p1"])
    slid = apply_move(s, fallback[0])
    assert marker(slid, "2,2") == 1 and marker(slid, "3,3") == 0
    assert at(slid, "6,6") == [2] and slid.eliminated_rings(1) == 1  # buried ring extracted
    struck = apply_move(s, strike)
    assert marker(struck, "3,3") == 0 and at(struck, "3,4") == []  # marker spent, ring gone
    assert struck.eliminated_rings(1) == 2


def test_recovery_eligible_player_with_rings_in_hand_may_skip_placement():
    s = position(RECOVERY, phase="ring_placement", hand={1: 3, 2: 5})
    assert "skip_placement p1" in texts(s)
    assert texts(apply_move(s, "skip_placement p1"))[-1] == "skip_recovery p1"


# ---- victory and ranks (RR-CANON-R170..R178) ----------------------------------------------

def test_ring_elimination_victory_at_the_threshold():
    d = "11 . m2 . . . . 2\n. . . . . . . 3"
    s = position(d, players=3, hand=no_hands(3), credited={1: 23})
    assert s.meta[K.M_VICTORY_THRESHOLD] == 24
    won = apply_move(s, "move_stack p1 from=0,0 to=2,0")  # lands on a marker: 24th ring
    assert not won.is_active and won.winner == 1 and won.victory_reason == "ring_elimination"
    s = position(d, players=3, hand=no_hands(3), credited={1: 22})
    assert finish_turn(apply_move(s, "move_stack p1 from=0,0 to=2,0")).is_active


def _territory_rows(owners: list[str]) -> str:
    return "\n".join(" ".join("." if c == "." else f"#{c}" for c in row) for row in owners)


TOP = "1 m1 . . . . . 2\n. . . . . . . 3\n"


@pytest.mark.parametrize("rows, wins", [
    # p1 reaches 22 = floor(64/3) + 1 with 22 > 3 + 0
    ([".", ".", ".", "11111222", "11111111", "11111111"], True),
    # p1 reaches only 21
    ([".", ".", ".", "11112222", "11111111", "11111111"], False),
    # p1 reaches 22 but 22 is not more than 14 + 8
    ([".....333", "22222222", "22222233", "33311111", "11111111", "11111111"], False),
])
def test_territory_victory_needs_the_minimum_and_dominance(rows, wins):
    rows = [r if r != "." else "........" for r in rows]
    s = position(TOP + _territory_rows(rows), players=3, hand=no_hands(3))
    assert s.meta[K.M_TERRITORY_MIN] == 64 // 3 + 1 == 22
    after = finish_turn(apply_move(s, "move_stack p1 from=0,0 to=2,0"))  # collapses 1,0
    assert after.territory(1) == s.territory(1) + 1
    assert after.is_active != wins
    if wins:
        assert after.winner == 1 and after.victory_reason == "territory"
        assert ranks(after) == {1: 1, 2: 2, 3: 3}


def test_tied_players_share_a_rank_and_the_next_rank_is_skipped():
    s = position("11 . m2 . . . . 2\n. . . . . . . 3\n. . . . . . . 4", players=4,
                 hand=no_hands(4), credited={1: 29, 2: 1, 3: 1})
    won = apply_move(s, "move_stack p1 from=0,0 to=2,0")
    assert won.winner == 1 and ranks(won) == {1: 1, 2: 2, 3: 2, 4: 4}


def test_ranks_of_an_active_game_raise():
    with pytest.raises(ValueError, match="still active"):
        ranks(position("1 . . . . . . 2"))


# ---- the public API ---------------------------------------------------------------------

@pytest.mark.parametrize("move, reason", [
    ("move_stack p1 from=0,0 to=1,0", "no legal move_stack matches"),
    ("move_stack p2 from=7,0 to=6,0", "it is player 1's turn"),
    ("place_ring p1 to=5,5 n=1", "place_ring is not legal in phase movement"),
])
def test_illegal_move_error_names_the_move_and_the_reason(move, reason):
    s = position("11 . . . . . . 2", hand=no_hands())
    with pytest.raises(IllegalMoveError, match=f"'{move}'.*{reason}"):
        apply_move(s, move)


def test_apply_move_leaves_the_input_state_untouched():
    s = position(CAPTURE, hand=no_hands())
    before = s.copy()
    after = apply_move(s, "overtaking_capture p1 from=0,0 cap=0,2 to=0,4")
    for name in ("rings", "height", "marker", "collapsed", "order", "meta"):
        assert np.array_equal(getattr(s, name), getattr(before, name)), name
    assert not np.array_equal(after.height, s.height)


def test_pie_rule_swap_sides_offered_once_at_player_two_first_turn():
    from ringrift_ray.game import new_game

    s = new_game("square8", 2, swap_rule=True)
    for text in ("place_ring p1 to=3,3 n=1", "move_stack p1 from=3,3 to=3,4",
                 "no_line_action p1", "no_territory_action p1"):
        s = apply_move(s, text)
    assert "swap_sides p2" in {move_to_text(m) for m in legal_moves(s)}
    swapped = apply_move(s, "swap_sides p2")
    assert swapped.current_player == 2 and swapped.phase == "ring_placement"
    assert "swap_sides p2" not in {move_to_text(m) for m in legal_moves(swapped)}
    off = new_game("square8", 2)
    for text in ("place_ring p1 to=3,3 n=1", "move_stack p1 from=3,3 to=3,4",
                 "no_line_action p1", "no_territory_action p1"):
        off = apply_move(off, text)
    assert all(m.type != "swap_sides" for m in legal_moves(off))
    with pytest.raises(ValueError, match="2-player"):
        new_game("square8", 3, swap_rule=True)
