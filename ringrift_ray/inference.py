"""Inference backends for search: eager torch or ONNX Runtime behind one call.

Legend: ``B`` batch, ``C,G,G`` feature planes (``encoding.encode``), ``A`` actions, ``P``
players.

An `Inference` maps ``obs [B, C, G, G]`` float32 numpy to ``(logits [B, A] float32, values
[B, P] float32, seat-relative)`` numpy, like `net.infer`, and takes new weights with
`Inference.load`. ``backend="auto"`` picks ONNX Runtime on the CPU and eager torch (bf16
autocast, channels-last) on CUDA: on the 2-core CPU machine ONNX Runtime ran 1.1-2x eager
torch's positions/s for every preset at B <= 256 with one thread
(``benchmarks/inference_cpu.json``, README "Performance"); on a GPU eager torch is the
measured path. The ONNX model is re-exported from the torch net on every `load` (0.1-0.3 s
for ``compact``/``small``), so weights change only between search steps.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch

from ringrift_ray.encoding import encode
from ringrift_ray.game import new_game
from ringrift_ray.net import PolicyValueNet, infer, load_weights_numpy, prepare_for_inference

BACKENDS = ("auto", "torch", "onnxruntime")


def resolve_backend(backend: str, device: str) -> str:
    """The concrete backend (``torch`` or ``onnxruntime``) for ``backend`` on ``device``.

    Raises:
        ValueError: an unknown backend, or ``onnxruntime`` asked for on CUDA.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown inference backend {backend!r}; expected one of {BACKENDS}")
    if backend == "auto":
        return "torch" if device.startswith("cuda") else "onnxruntime"
    if backend == "onnxruntime" and device.startswith("cuda"):
        raise ValueError("inference backend 'onnxruntime' runs on the CPU only; use 'torch' "
                         "or 'auto' with a GPU")
    return backend


def onnx_bytes(net: PolicyValueNet) -> bytes:
    """The net as an ONNX model (opset of torch's TorchScript exporter, dynamic batch)."""
    example = torch.from_numpy(encode([new_game(net.spec.board, net.spec.players)]))
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter: no
        torch.onnx.export(net.cpu().eval(), (example,), buf, dynamo=False,  # torch.export
                          input_names=["obs"], output_names=["logits", "values"],
                          dynamic_axes={"obs": {0: "B"}, "logits": {0: "B"},
                                        "values": {0: "B"}})
    return buf.getvalue()


class Inference:
    """A network ready for batched inference on one backend.

    Args:
        net: the network (moved to ``device``; kept as the source of the ONNX export).
        backend: ``auto``, ``torch`` or ``onnxruntime`` (`resolve_backend`).
        device: ``cpu`` or ``cuda[:n]``.
        threads: intra-op threads of ONNX Runtime (torch's are set with
            ``torch.set_num_threads`` by the caller).

    Raises:
        ValueError: from `resolve_backend`.
    """

    def __init__(self, net: PolicyValueNet, backend: str = "auto", device: str = "cpu",
                 threads: int = 1):
        self.backend = resolve_backend(backend, device)
        self.device, self.threads = device, threads
        self.net = prepare_for_inference(net, device)
        self.session = None
        if self.backend == "onnxruntime":
            self._export()

    def _export(self) -> None:
        import onnxruntime as ort  # only the ONNX backend needs it

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(onnx_bytes(self.net), options,
                                            providers=["CPUExecutionProvider"])

    def load(self, weights: dict[str, np.ndarray]) -> None:
        """Take new weights (`net.weights_numpy` form).

        Raises:
            ValueError: weights that do not fit the net (from `net.load_weights_numpy`).
        """
        load_weights_numpy(self.net, weights)
        self.net.eval()
        if self.backend == "onnxruntime":
            self._export()

    def __call__(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``obs [B, C, G, G]`` float32 -> ``(logits [B, A], values [B, P])`` float32."""
        if self.session is None:
            return infer(self.net, obs, self.device)
        logits, values = self.session.run(None, {"obs": np.ascontiguousarray(obs)})
        return logits, values
