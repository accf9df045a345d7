"""Victory conditions and final ranks (``game/victory.py``, RR-CANON-R170..R178) on ASCII
square8 boards."""

import pytest
from boards import finish_turn, no_hands, position

from ringrift_ray.game import apply_move, ranks
from ringrift_ray.game import constants as K


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
