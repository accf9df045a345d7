"""The move service without Ray (`ringrift_ray/service/`): the contract's models, positions
checked for play (400 reasons), batched move choice and the play page's rules."""

import copy

import pytest
from pydantic import ValidationError
from reference import trace_games

from ringrift_ray.game import legal_moves, move_from_reference
from ringrift_ray.net import NetSpec, PolicyValueNet, save_checkpoint
from ringrift_ray.service import api, chooser, play, positions


@pytest.fixture(scope="module")
def steps():
    """Trace steps of the first square8 2-player reference game."""
    _, game_steps, end = next(trace_games("square8_2p"))
    return game_steps, end


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("service") / "tiny.pt"
    save_checkpoint(PolicyValueNet(NetSpec("square8", 2, "tiny")), path)
    return chooser.load_model(f"{path}:32", device="cpu")


def test_difficulty_table_and_cap():
    assert [api.simulations_for(d) for d in range(1, 11)] == [
        1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert api.simulations_for(10, cap=100) == 100 and api.simulations_for(1, cap=100) == 1
    with pytest.raises(ValueError, match="1..10"):
        api.simulations_for(11)


def test_model_spec(tmp_path):
    assert chooser.parse_model_spec("a/b.pt:64") == ("a/b.pt", 64)
    assert chooser.parse_model_spec("s3://bucket/b.pt") == ("s3://bucket/b.pt", None)
    odd = tmp_path / "x.pt:7"  # an existing file whose name ends like :SIMS
    odd.write_bytes(b"")
    assert chooser.parse_model_spec(str(odd)) == (str(odd), None)
    with pytest.raises(ValueError, match="at least 1"):
        chooser.parse_model_spec("b.pt:0")


def test_request_shape_errors_name_the_field(steps):
    state = steps[0][0]["state"]
    with pytest.raises(ValidationError, match="player_number 3 exceeds"):
        api.MoveRequest(game_state=state, player_number=3)
    bad = copy.deepcopy(state)
    bad["board"]["type"] = "square9"
    with pytest.raises(ValidationError) as e:
        api.MoveRequest(game_state=bad, player_number=1)
    assert e.value.errors()[0]["loc"] == ("game_state", "board", "type")
    with pytest.raises(ValidationError, match="same length"):
        api.BatchMoveRequest(game_states=[state], player_numbers=[1, 2])


def test_positions_rejected_with_reasons(steps):
    game_steps, end = steps
    step = game_steps[10]
    req = api.MoveRequest(game_state=step["state"], player_number=step["current_player"],
                          state_extras=step["state_extras"])
    state = positions.position_of(req.game_state, req.player_number, req.state_extras)
    assert state.current_player == step["current_player"]
    with pytest.raises(positions.StateRejected, match="is not to move"):
        positions.position_of(req.game_state, 3 - step["current_player"], req.state_extras)
    with pytest.raises(positions.StateRejected, match="game is over"):
        positions.position_of(end["final_state"], 1, end["final_state_extras"])
    over = copy.deepcopy(step["state"])
    over["players"][0]["ringsInHand"] = 18
    with pytest.raises(positions.StateRejected, match="exceed the 18 rings"):
        positions.position_of(over, None, step["state_extras"])


def test_choose_moves_legal_and_seeded(model, steps):
    game_steps, _ = steps
    picked = game_steps[::15]
    states = [positions.position_of(s["state"], s["current_player"], s["state_extras"])
              for s in picked]
    choices = chooser.choose_moves(model, states, [64] * len(states), [7] * len(states))
    for state, c in zip(states, choices, strict=True):
        assert c.move in legal_moves(state)
        assert -1.0 <= c.evaluation <= 1.0
        assert c.simulations <= 32  # the :32 cap
    # a seeded answer does not depend on the batch it shared
    alone = [chooser.choose_moves(model, [s], [64], [7])[0].move for s in states[:4]]
    assert alone == [c.move for c in choices[:4]]


def test_play_page_rules():
    v = play.new_position("hex8", 3)
    assert v["active"] and v["current_player"] == 1 and v["svg"].lstrip().startswith("<")
    first = v["legal_moves"][0]
    assert move_from_reference(first["move"]) is not None
    after = play.apply(v["game_state"], v["state_extras"], first["move"])
    assert after["move_text"] == first["text"]
    again = play.view(after["game_state"], after["state_extras"], after["move_text"])
    assert again["legal_moves"] == after["legal_moves"]
    quick = play.apply(v["game_state"], v["state_extras"], first["move"], picture=False)
    assert quick["svg"] is None and quick["legal_moves"] == []
    assert quick["game_state"] == after["game_state"]
    with pytest.raises(positions.StateRejected):
        play.apply(v["game_state"], v["state_extras"], {"type": "place_ring", "player": 2,
                                                        "to": {"x": 0, "y": 0, "z": 0}})
    assert "<script>" in play.page_html()
