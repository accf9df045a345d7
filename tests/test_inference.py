"""Inference backends: ONNX Runtime agrees with eager torch, follows new weights, and bad
backends are named."""

import numpy as np
import pytest
import torch

from ringrift_ray.config import SelfplayConfig
from ringrift_ray.encoding import encode
from ringrift_ray.game import apply_record_inplace, legal_move_records, new_game
from ringrift_ray.inference import Inference, resolve_backend
from ringrift_ray.net import NetSpec, PolicyValueNet, infer, weights_numpy


def _positions(board: str, players: int, count: int = 6) -> np.ndarray:
    rng = np.random.default_rng(0)
    states = []
    for n in range(count):
        s = new_game(board, players)
        for _ in range(3 * n):
            records = legal_move_records(s)
            apply_record_inplace(s, records[rng.integers(len(records))])
        states.append(s)
    return encode(states)


@pytest.mark.parametrize("board, players", [("square8", 2), ("hex8", 3)])
def test_onnxruntime_matches_torch(board, players):
    torch.manual_seed(0)
    net = PolicyValueNet(NetSpec(board, players, "tiny")).eval()
    obs = _positions(board, players)
    want_logits, want_values = infer(net, obs)
    ort = Inference(net, "onnxruntime")
    logits, values = ort(obs)
    assert ort.backend == "onnxruntime"
    assert logits.shape == want_logits.shape and values.shape == want_values.shape
    assert np.abs(logits - want_logits).max() < 1e-4
    assert np.abs(values - want_values).max() < 1e-5


def test_load_reexports_the_new_weights():
    torch.manual_seed(0)
    spec = NetSpec("square8", 2, "tiny")
    ort = Inference(PolicyValueNet(spec), "onnxruntime")
    other = PolicyValueNet(spec).eval()
    obs = _positions("square8", 2, 3)
    before = ort(obs)[1]
    ort.load(weights_numpy(other))
    assert not np.allclose(before, ort(obs)[1])
    assert np.abs(ort(obs)[1] - infer(other, obs)[1]).max() < 1e-5


def test_backends_resolve_and_bad_ones_are_named():
    assert resolve_backend("auto", "cpu") == "onnxruntime"
    assert resolve_backend("auto", "cuda") == "torch"
    assert resolve_backend("torch", "cpu") == "torch"
    with pytest.raises(ValueError, match="unknown inference backend 'tensorrt'"):
        resolve_backend("tensorrt", "cpu")
    with pytest.raises(ValueError, match="CPU only"):
        resolve_backend("onnxruntime", "cuda:0")
    with pytest.raises(ValueError, match="inference"):
        SelfplayConfig(inference="tensorrt")
