"""Network shapes, presets, and checkpoint save/load with clear errors."""

import numpy as np
import pytest
import torch

from ringrift_ray.encoding import NUM_PLANES, encode, num_actions
from ringrift_ray.game import new_game
from ringrift_ray.net import (
    NetSpec,
    PolicyValueNet,
    infer,
    load_checkpoint,
    num_parameters,
    save_checkpoint,
)


@pytest.mark.parametrize("board_type,players", [("square8", 2), ("hex8", 3), ("square19", 4)])
def test_forward_shapes(board_type, players):
    net = PolicyValueNet(NetSpec(board_type, players, "tiny")).eval()
    obs = encode([new_game(board_type, players)] * 3)
    logits, values = infer(net, obs)
    assert logits.shape == (3, num_actions(board_type)) and logits.dtype == np.float32
    assert values.shape == (3, players) and np.all(np.abs(values) <= 1)
    assert obs.shape[1] == NUM_PLANES


def test_preset_sizes_match_docstring():
    counts = {p: num_parameters(PolicyValueNet(NetSpec("square8", 2, p)))
              for p in ("tiny", "compact", "small", "medium")}
    assert 20_000 < counts["tiny"] < 25_000
    assert 95_000 < counts["compact"] < 100_000
    assert 0.45e6 < counts["small"] < 0.55e6
    assert 8.0e6 < counts["medium"] < 9.0e6


def test_checkpoint_round_trip_and_errors(tmp_path):
    torch.manual_seed(0)
    net = PolicyValueNet(NetSpec("square8", 2, "tiny")).eval()
    path = tmp_path / "ckpt.pt"
    save_checkpoint(net, path, version=3)
    loaded, extra = load_checkpoint(path, expect=NetSpec("square8", 2, "tiny"))
    assert extra == {"version": 3}
    obs = encode([new_game("square8", 2)])
    assert np.allclose(infer(net, obs)[0], infer(loaded.eval(), obs)[0])
    with pytest.raises(ValueError, match="players"):
        load_checkpoint(path, expect=NetSpec("square8", 3, "tiny"))
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(bad)
    with pytest.raises(ValueError, match="unknown preset"):
        NetSpec("square8", 2, "huge")
