"""Serving export: ONNX Runtime and TorchScript agree with torch on real positions, and the
files carry their metadata."""

import json

import numpy as np
import pytest
import torch

from ringrift_ray.encoding import encode, num_actions
from ringrift_ray.game import apply_record, legal_move_records, new_game
from ringrift_ray.net import NetSpec, PolicyValueNet, save_checkpoint
from ringrift_ray.serving import export_model

MAX_ABS_DIFF = 1e-4  # float32 kernels differ by ~1e-6 here; a wrong graph is off by O(1)


def _positions(board: str, players: int, n: int) -> np.ndarray:
    """``obs [n, C, G, G]`` of positions along one random game (start to mid-game)."""
    rng = np.random.default_rng(0)
    state, states = new_game(board, players), []
    while len(states) < n and state.is_active:
        states.append(state)
        records = legal_move_records(state)
        state = apply_record(state, records[rng.integers(len(records))])
    return encode(states)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    net = PolicyValueNet(NetSpec("hex8", 3, "tiny")).eval()
    for m in net.modules():  # non-trivial BatchNorm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    save_checkpoint(net, path, version=42)
    obs = _positions("hex8", 3, 40)
    with torch.no_grad():
        logits, values = net(torch.from_numpy(obs))
    return path, obs, logits.numpy(), values.numpy()


def _check(meta, logits, values, want_logits, want_values):
    assert meta["board"] == "hex8" and meta["players"] == "3" and meta["preset"] == "tiny"
    assert meta["num_actions"] == str(num_actions("hex8")) and meta["version"] == "42"
    assert "seat-relative" in meta["value_perspective"]
    assert logits.shape == want_logits.shape and values.shape == want_values.shape == (40, 3)
    assert np.abs(logits - want_logits).max() < MAX_ABS_DIFF
    assert np.abs(values - want_values).max() < MAX_ABS_DIFF


def test_onnx_runtime_agrees_with_torch(checkpoint, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    path, obs, want_logits, want_values = checkpoint
    export_model(path, tmp_path / "model.onnx", "onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    logits, values = session.run(None, {"obs": obs})
    _check(meta, logits, values, want_logits, want_values)


def test_torchscript_agrees_with_torch(checkpoint, tmp_path):
    path, obs, want_logits, want_values = checkpoint
    export_model(path, tmp_path / "model.ts", "torchscript")
    files = {"metadata.json": ""}
    module = torch.jit.load(str(tmp_path / "model.ts"), _extra_files=files)
    with torch.no_grad():
        logits, values = module(torch.from_numpy(obs))
    _check(json.loads(files["metadata.json"]), logits.numpy(), values.numpy(), want_logits,
           want_values)


def test_unknown_format_is_an_error(checkpoint, tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        export_model(checkpoint[0], tmp_path / "m", "tflite")


def test_cli_export_writes_the_model_and_prints_metadata(checkpoint, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "model.ts"
    done = subprocess.run([sys.executable, "-m", "ringrift_ray.cli", "export",
                           str(checkpoint[0]), "--format", "torchscript", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["board"] == "hex8"
    assert out.stat().st_size > 0
    bad = subprocess.run([sys.executable, "-m", "ringrift_ray.cli", "export",
                          str(tmp_path / "missing.pt"), "--format", "onnx", "--out",
                          str(tmp_path / "m.onnx")], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "not found" in bad.stderr
