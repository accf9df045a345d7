"""Territory regions and their processing (``game/territory.py``, RR-CANON-R140..R145) on
ASCII square8 boards."""

import pytest
from boards import at, collapsed, finish_turn_until, no_hands, position, texts

from ringrift_ray.game import apply_move


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
