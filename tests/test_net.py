"""Network shapes, presets, and checkpoint save/load: tensor digests verified on load, clear
errors naming the file for corrupt, truncated, tampered or foreign checkpoints."""

import logging
import zipfile

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
    tensor_digest,
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


def _saved(tmp_path, name="ckpt.pt"):
    torch.manual_seed(0)
    net = PolicyValueNet(NetSpec("square8", 2, "tiny"))
    path = tmp_path / name
    save_checkpoint(net, path, step=7)
    return net, path


def test_checkpoint_carries_a_verified_tensor_digest(tmp_path):
    net, path = _saved(tmp_path)
    data = torch.load(path, weights_only=True)
    assert data["sha256"] == tensor_digest(net.state_dict()) and len(data["sha256"]) == 64
    assert tensor_digest({k: v.clone() for k, v in net.state_dict().items()}) == data["sha256"]
    data["state_dict"]["stem.0.weight"][0, 0, 0, 0] += 1e-3  # tampered, old digest kept
    torch.save(data, path)
    with pytest.raises(ValueError, match=f"{path}.*tampered"):
        load_checkpoint(path)


def test_checkpoint_with_flipped_tensor_bytes_is_rejected(tmp_path):
    _, path = _saved(tmp_path)
    with zipfile.ZipFile(path) as z:  # the biggest tensor's bytes (stored uncompressed)
        info = max((i for i in z.infolist() if "/data/" in i.filename),
                   key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    start = raw.index(info.filename.encode()) + len(info.filename) + 64  # past the header
    raw[start + info.file_size // 2] ^= 0x40
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=str(path)):
        load_checkpoint(path)


@pytest.mark.parametrize("keep", [0, 1, 22, 0.5, -30])
def test_truncated_checkpoint_names_the_file(tmp_path, keep):
    _, path = _saved(tmp_path)
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep) if isinstance(keep, float) else keep])
    with pytest.raises(ValueError, match=f"{path}: not a readable checkpoint"):
        load_checkpoint(path)


@pytest.mark.parametrize("payload", [
    [1, 2], {"spec": {"board": "square8"}, "state_dict": {}},
    {"spec": ["square8", 2], "state_dict": {}},
    {"spec": {"board": "square8", "players": 9, "preset": "tiny"}, "state_dict": {}},
    {"spec": {"board": "square8", "players": 2, "preset": "tiny"}, "state_dict": [1]},
    {"spec": {"board": "square8", "players": 2, "preset": "tiny"}, "state_dict": {},
     "sha256": "0" * 64},
])
def test_foreign_checkpoint_names_the_file(tmp_path, payload):
    path = tmp_path / "foreign.pt"
    torch.save(payload, path)
    with pytest.raises(ValueError, match=str(path)):
        load_checkpoint(path)


def test_checkpoint_without_digest_loads_with_a_warning(tmp_path, caplog):
    net, path = _saved(tmp_path)
    data = torch.load(path, weights_only=True)
    del data["sha256"]  # as written before digests existed
    torch.save(data, path)
    with caplog.at_level(logging.WARNING, logger="ringrift_ray.net"):
        loaded, extra = load_checkpoint(path)
    assert extra == {"step": 7} and "no sha256 digest" in caplog.text and str(path) in caplog.text
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in net.state_dict().items())
