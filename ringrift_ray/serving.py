"""Serving export: a checkpoint as an ONNX or TorchScript model with its metadata.

Legend: ``B`` batch, ``C,G,G`` feature planes (``encoding.encode``), ``A`` actions of the
board, ``P`` players.

The exported model maps ``obs [B, C, G, G]`` float32 to ``logits [B, A]`` float32 (over
every action index of ``encoding.py``; mask illegal moves yourself) and ``values [B, P]``
float32 in [-1, 1], seat-relative: ``values[:, 0]`` is the player to move, then the
following seats in turn order (``encoding.values_to_players`` maps them to players).
``metadata`` (`model_metadata`) travels inside the file: ONNX ``metadata_props``, and a
TorchScript extra file ``metadata.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ringrift_ray.encoding import encode, num_actions
from ringrift_ray.game import new_game
from ringrift_ray.inference import onnx_bytes
from ringrift_ray.net import PolicyValueNet, load_checkpoint

FORMATS = ("onnx", "torchscript")
VALUE_PERSPECTIVE = ("seat-relative: values[:, k] is the k-th seat from the player to move "
                     "(k = 0: the player to move), each in [-1, 1]")


def model_metadata(net: PolicyValueNet, extra: dict | None = None) -> dict[str, str]:
    """``{key: str}`` that identifies what the exported model computes (board, players,
    preset, encoding version, action-space size, observation shape, value perspective, and
    the checkpoint's ``version`` when it has one)."""
    spec = net.spec
    obs = encode([new_game(spec.board, spec.players)])
    meta = {"board": spec.board, "players": str(spec.players), "preset": spec.preset,
            "encoding_version": str(spec.encoding_version),
            "num_actions": str(num_actions(spec.board)),
            "obs_shape": json.dumps(["B", *obs.shape[1:]]), "inputs": "obs",
            "outputs": "logits, values", "value_perspective": VALUE_PERSPECTIVE}
    if extra and "version" in extra:
        meta["version"] = str(extra["version"])
    return meta


def export_model(checkpoint: str | Path, out: str | Path, fmt: str) -> dict[str, str]:
    """Write the checkpoint's network to ``out`` as ``fmt`` (``onnx`` or ``torchscript``).

    Returns:
        The metadata written into the file.

    Raises:
        FileNotFoundError / ValueError: from `net.load_checkpoint`; ValueError for an
            unknown ``fmt``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    net, extra = load_checkpoint(checkpoint)
    net.eval()
    meta = model_metadata(net, extra)
    if fmt == "torchscript":
        example = torch.from_numpy(encode([new_game(net.spec.board, net.spec.players)]))
        with torch.no_grad():
            traced = torch.jit.trace(net, example)
        torch.jit.save(traced, str(out), _extra_files={"metadata.json": json.dumps(meta)})
        return meta
    import onnx  # optional at import time: only the ONNX export needs it

    model = onnx.load_from_string(onnx_bytes(net))
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(out))
    return meta
