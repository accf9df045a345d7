"""Ring placement (``game/placement.py``, RR-CANON-R080..R082) on ASCII square8 boards."""

from boards import no_hands, position, texts

from ringrift_ray.game import apply_move


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
