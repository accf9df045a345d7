"""Territory regions and their processing (``game/territory.py``, RR-CANON-R140..R145) on
ASCII square8 boards."""

import json

import pytest
from boards import at, collapsed, finish_turn_until, no_hands, position, texts
from reference import REFERENCE

from ringrift_ray.game import apply_move, state_from_reference
from ringrift_ray.game.territory import find_regions


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


# ---- R142 colour representation: one, zero or buried active colours, empty regions ----------

SINGLE_COLOUR = """
    . m1 . . . . . .
    m1 . . . . . . .
    . . . . 1 . . .
"""
"""Only player 1 has rings on the board (player 2's are all in hand); {0,0} is empty and
enclosed by player 1's markers and the board edge."""


def test_single_active_colour_empty_region_is_eligible_and_paid_outside():
    # RR-CANON-R142 "Empty regions": RegionColors = {} is a strict subset of ActiveColors = {1};
    # the rest of the board holds player 1's stack, RegionColors = ActiveColors: never a region.
    # R143: player 1 pays with the stack on 4,2 (outside the region); R145: the border markers
    # collapse with the region. (Minimal case: repro/territory_single_active_colour.json.)
    s = position(SINGLE_COLOUR, phase="territory_processing")
    assert texts(s) == ["choose_territory_option p1 region=0,0", "skip_territory_processing p1"]
    claimed = apply_move(s, "choose_territory_option p1 region=0,0")
    assert [collapsed(claimed, k) for k in ("0,0", "1,0", "0,1")] == [1, 1, 1]
    assert claimed.territory(1) == 3 and claimed.eliminated_rings(1) == 0  # nothing inside
    assert texts(claimed) == ["eliminate_rings_from_stack p1 to=4,2 ctx=territory"]
    paid = apply_move(claimed, "eliminate_rings_from_stack p1 to=4,2 ctx=territory")
    assert at(paid, "4,2") == [] and paid.eliminated_rings(1) == 1


def test_no_ring_on_the_board_means_no_region():
    # R142: with ActiveColors = {} no RegionColors is a strict subset of it; the enclosure of
    # markers around {0,0} is no region (and nobody could pay for one, R143)
    s = position(SINGLE_COLOUR.replace(" 1 ", " . "), phase="territory_processing")
    assert texts(s) == ["no_territory_action p1"]
    b = s.board
    assert find_regions(b.tadj, s.rings, s.height, s.marker, s.collapsed, 2).shape == (0, 3)


COLLAPSED_POCKET = """
    . #2 . . . . . .
    #2 . . . . . . .
    . . . . 1 . . .
    . . . . . . . {}
"""


@pytest.mark.parametrize("marker_elsewhere", [False, True])
def test_empty_region_enclosed_by_collapsed_spaces_is_eligible(marker_elsewhere):
    # R141 (collapsed spaces and the edge alone disconnect {0,0}) and R142 "Empty regions":
    # eligible whether or not a marker lies anywhere on the board. The reference engine
    # drops it when the board has no marker at all (its "defensive filter" keeps only regions
    # with exactly one colour then); we follow the spec: a documented divergence
    # (tests/replay.py; repro/territory_empty_region_no_markers.json).
    s = position(COLLAPSED_POCKET.format("2") + ("m2 . . . . . . ." if marker_elsewhere else ""),
                 phase="territory_processing")
    assert texts(s) == ["choose_territory_option p1 region=0,0", "skip_territory_processing p1"]


def test_region_shared_by_two_colours_is_eligible_without_markers():
    # R142: RegionColors = {1, 3} is a strict subset of ActiveColors = {1, 2, 3}; R143: player
    # 1 pays with 4,2. The reference offers a region on a board without markers only when
    # exactly one colour controls stacks in it: a documented divergence (tests/replay.py;
    # trace hex8_4p_seed3 game 17 step 248).
    s = position("""
        1 3 #2 . . . . .
        #2 #2 . . . . . .
        . . . . 1 . 3 2
    """, players=3, phase="territory_processing")
    assert texts(s) == ["choose_territory_option p1 region=0,0;1,0", "skip_territory_processing p1"]


def test_buried_rings_count_as_active_colours():
    # R142: ActiveColors = players with a ring anywhere on the board. Player 2's only ring is
    # buried under player 1's on 4,2, so {0,0} with player 1's stack (RegionColors = {1}) is a
    # strict subset of {1, 2}: eligible, paid with 4,2; so is the rest of the board (only
    # player 1's stack 4,2 in it), paid with 0,0.
    s = position("""
        1 #2 . . . . . .
        #2 . . . . . . .
        . . . . 12 . . .
    """, phase="territory_processing", hand={1: 0, 2: 0})
    rest = sorted(set(s.board.keys) - {"0,0", "1,0", "0,1"},
                  key=lambda k: tuple(map(int, k.split(","))))
    assert texts(s) == ["choose_territory_option p1 region=0,0",
                        f"choose_territory_option p1 region={';'.join(rest)}",
                        "skip_territory_processing p1"]
    claimed = apply_move(s, "choose_territory_option p1 region=0,0")
    assert claimed.eliminated_rings(1) == 1 and collapsed(claimed, "0,0") == 1
    assert texts(claimed) == ["eliminate_rings_from_stack p1 to=4,2 ctx=territory"]


def test_markers_of_other_colours_lie_inside_a_region():
    # R141: under border colour 1 player 3's marker on 3,1 is part of the region {2,1;3,1};
    # under border colour 3 it is the border of {2,1}. Both are physically disconnected and
    # empty (R142), so both are offered (trace square8_3p_seed2 game 17 step 151).
    s = position("""
        #2 #2 #2 #2 #2 . . .
        #2 #2 . m3 #2 m1 . .
        #2 #2 #2 #2 #2 . . .
        . . . . . . 1 .
    """, players=3, phase="territory_processing")
    assert texts(s) == ["choose_territory_option p1 region=2,1",
                        "choose_territory_option p1 region=2,1;3,1",
                        "skip_territory_processing p1"]


# ---- the reference's minimal cases (../shared/reference/repro/) -----------------------------

def _repro(name: str):
    d = json.loads((REFERENCE / "repro" / f"{name}.json").read_text())
    return state_from_reference(d["state"], d["state_extras"]), d


def test_repro_single_active_colour_matches_the_reference():
    s, d = _repro("territory_single_active_colour")
    assert texts(s) == sorted(d["reference_legal_moves"])


def test_repro_empty_region_without_markers_follows_r142_not_the_reference():
    # documented divergence: the reference drops the empty region {2,2} (no marker on the
    # board); R142 "Empty regions" makes it eligible and player 1 can pay with 2,5 (R143)
    s, d = _repro("territory_empty_region_no_markers")
    ours_only = ["choose_territory_option p1 region=2,2"]
    assert texts(s) == sorted(d["reference_legal_moves"] + ours_only)
