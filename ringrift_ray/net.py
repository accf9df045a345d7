"""Policy/value network: a ResNet with squeeze-and-excitation blocks.

``obs [B, C, G, G]`` -> ``(logits [B, A], values [B, P])``: a convolutional policy head
(a 1x1 convolution to the ``K`` action planes of ``encoding.py`` plus a small linear head
for the global actions) and a value head with one tanh output per seat, seat-relative
(seat 0 = the player to move).

Presets (parameters on square8 2p / square19 2p):

| preset | blocks x filters | square8 | square19 | use                         |
|--------|------------------|---------|----------|-----------------------------|
| tiny   | 2 x 16           | 22.8 k  | 24.3 k   | tests                       |
| compact| 4 x 32           | 97.5 k  | 99.0 k   | CPU, 2 cores (learning run) |
| small  | 6 x 64           | 0.505 M | 0.508 M  | CPU default                 |
| medium | 12 x 192         | 8.46 M  | 8.47 M   | GPU (reference v3 scale)    |

Checkpoints store weights with metadata (board, players, preset, encoding version) and the
SHA-256 of their tensors (`tensor_digest`), and load with ``torch.load(weights_only=True)``
(no pickled code runs); a corrupt, truncated or tampered file or a mismatch is a
``ValueError`` naming the file. A checkpoint written before digests existed (no ``sha256``
entry) still loads, with a logged warning: its weights cannot be verified, and
re-saving it adds the digest.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ringrift_ray import storage
from ringrift_ray.config import GameConfig, NetConfig
from ringrift_ray.encoding import ENCODING_VERSION, NUM_GLOBAL, NUM_PLANES, layout

log = logging.getLogger(__name__)

PRESETS = {"tiny": (2, 16), "compact": (4, 32), "small": (6, 64), "medium": (12, 192)}


@dataclass(frozen=True)
class NetSpec:
    """What a network is for; stored in every checkpoint."""

    board: str
    players: int
    preset: str = "small"
    encoding_version: int = ENCODING_VERSION

    @classmethod
    def from_config(cls, game: GameConfig, net: NetConfig) -> NetSpec:
        """The spec of the configured variant and preset."""
        return cls(game.board, game.players, net.preset)

    def __post_init__(self):
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; expected one of {list(PRESETS)}")
        if self.players not in (2, 3, 4):
            raise ValueError(f"players must be 2-4, got {self.players}")
        layout(self.board)  # raises for an unknown board


class SqueezeExcite(nn.Module):
    """Channel gating from globally pooled features (Hu et al., 2018)."""

    def __init__(self, channels: int, ratio: int = 4):
        super().__init__()
        hidden = max(channels // ratio, 4)
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True),
                                nn.Linear(hidden, 2 * channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale, bias = self.fc(x.mean(dim=(2, 3))).chunk(2, dim=1)
        return x * torch.sigmoid(scale)[:, :, None, None] + bias[:, :, None, None]


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.se = SqueezeExcite(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.se(self.bn2(self.conv2(y)))
        return torch.relu(x + y)


class PolicyValueNet(nn.Module):
    """ResNet-SE policy/value network for one (board, players) configuration.

    Forward: ``obs [B, C, G, G]`` float -> ``(logits [B, A] float32, values [B, P] in
    [-1, 1], seat-relative)``.
    """

    def __init__(self, spec: NetSpec):
        super().__init__()
        self.spec = spec
        blocks, filters = PRESETS[spec.preset]
        lay = layout(spec.board)
        self.grid = lay.grid
        self.num_planes = lay.num_planes
        self.stem = nn.Sequential(nn.Conv2d(NUM_PLANES, filters, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(filters), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*[ResidualBlock(filters) for _ in range(blocks)])
        head = max(filters // 2, 16)
        self.policy_conv = nn.Sequential(nn.Conv2d(filters, head, 1, bias=False),
                                         nn.BatchNorm2d(head), nn.ReLU(inplace=True),
                                         nn.Conv2d(head, lay.num_planes, 1))
        self.policy_global = nn.Linear(filters, NUM_GLOBAL)
        self.value_conv = nn.Sequential(nn.Conv2d(filters, head, 1, bias=False),
                                        nn.BatchNorm2d(head), nn.ReLU(inplace=True))
        self.value_fc = nn.Sequential(nn.Linear(2 * head, 128), nn.ReLU(inplace=True),
                                      nn.Linear(128, spec.players), nn.Tanh())

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.blocks(self.stem(obs))
        spatial = self.policy_conv(x).flatten(1)  # [B, K*G*G], plane-major
        pooled = x.mean(dim=(2, 3))
        logits = torch.cat([spatial, self.policy_global(pooled)], dim=1)
        v = self.value_conv(x)
        v = torch.cat([v.mean(dim=(2, 3)), v.amax(dim=(2, 3))], dim=1)
        return logits.float(), self.value_fc(v).float()


def weights_numpy(net: nn.Module) -> dict[str, np.ndarray]:
    """The state dict as ``{name: numpy array}`` (host copies; a DDP wrapper's ``module.``
    prefix removed): the one form weights travel in (weights store, evaluator, selfplay)."""
    module = getattr(net, "module", net)
    return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def load_weights_numpy(net: nn.Module, weights: dict[str, np.ndarray]) -> None:
    """Load a `weights_numpy` dict into ``net`` (copies: read-only object-store arrays are
    fine).

    Raises:
        RuntimeError: missing, unexpected or mis-shaped entries (torch's message).
    """
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()})


def num_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def tensor_digest(state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 (hex) of a state dict: every entry's name, dtype, shape and bytes, in name
    order (device and memory layout do not matter).

    Raises:
        ValueError: an entry that is not a tensor.
    """
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name]
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"state_dict[{name!r}] is a {type(t).__name__}, not a tensor")
        t = t.detach().to("cpu").contiguous().reshape(-1)
        h.update(f"{name}|{t.dtype}|{tuple(state_dict[name].shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_checkpoint(net: PolicyValueNet, path: storage.Location, **extra) -> None:
    """Write weights + metadata + their `tensor_digest` (``extra`` may add e.g. ``version``,
    ``step``) to a path or a URI (`ringrift_ray.storage`); never half-written (a temporary
    file renamed into place; on an object store one upload).

    Raises:
        OSError: the write failed.
    """
    state_dict = net.state_dict()
    data = io.BytesIO()
    torch.save({"spec": asdict(net.spec), "state_dict": state_dict, "extra": extra,
                "sha256": tensor_digest(state_dict)}, data)
    storage.write_bytes(path, data.getvalue())


def _read_checkpoint(path: storage.Location, map_location) -> tuple[NetSpec, dict, dict]:
    """``(spec, state_dict, extra)`` of a checkpoint file, its digest verified.

    Raises:
        OSError: the file could not be read.
        ValueError: unreadable, not a ringrift-ray checkpoint, or a digest mismatch.
    """
    raw = io.BytesIO(storage.read_bytes(path))
    try:
        data = torch.load(raw, map_location=map_location, weights_only=True)
    except Exception as e:  # corrupt / truncated / foreign pickle
        raise ValueError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(data, dict) or "spec" not in data or "state_dict" not in data:
        raise ValueError(f"{path}: not a ringrift-ray checkpoint (missing spec/state_dict)")
    state_dict, extra = data["state_dict"], data.get("extra", {})
    if not isinstance(state_dict, dict) or not isinstance(extra, dict):
        raise ValueError(f"{path}: not a ringrift-ray checkpoint (state_dict/extra not dicts)")
    try:
        spec = NetSpec(**data["spec"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: bad checkpoint spec {data['spec']!r}: {e}") from None
    digest = data.get("sha256")
    if digest is None:
        log.warning("%s: checkpoint has no sha256 digest (written before digests); its "
                    "weights are not verified", path)
    elif digest != tensor_digest(state_dict):
        raise ValueError(f"{path}: checkpoint corrupt or tampered: tensor SHA-256 differs "
                         "from the digest stored in it")
    return spec, state_dict, extra


def load_checkpoint(path: storage.Location, expect: NetSpec | None = None,
                    map_location: str | torch.device = "cpu") -> tuple[PolicyValueNet, dict]:
    """Load a checkpoint written by `save_checkpoint`, verifying its tensor digest.

    A checkpoint without a digest (written before digests existed) loads with a logged
    warning.

    Args:
        path: checkpoint file: a path or a URI (`ringrift_ray.storage`).
        expect: if given, the board/players/preset/encoding the caller needs.

    Returns:
        ``(net, extra)``.

    Raises:
        FileNotFoundError: no such file.
        OSError: the file could not be read (e.g. the store is unreachable).
        ValueError: (message naming the file) not a ringrift-ray checkpoint, corrupt,
            truncated, tampered (tensor SHA-256 mismatch), or built for another
            configuration (the message names the mismatching fields).
    """
    if not storage.is_file(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    spec, state_dict, extra = _read_checkpoint(path, map_location)
    if spec.encoding_version != ENCODING_VERSION:
        raise ValueError(f"{path}: encoding version {spec.encoding_version}, this code "
                         f"uses {ENCODING_VERSION}")
    if expect is not None and spec != expect:
        diff = {k: (v, getattr(expect, k)) for k, v in asdict(spec).items()
                if v != getattr(expect, k)}
        raise ValueError(f"{path}: checkpoint is for {diff} (found, expected)")
    net = PolicyValueNet(spec)
    try:
        net.load_state_dict(state_dict)
    except RuntimeError as e:
        raise ValueError(f"{path}: weights do not fit {spec}: {e}") from None
    return net, extra


def prepare_for_inference(net: PolicyValueNet, device: str | torch.device = "cpu",
                          compile: bool = False) -> PolicyValueNet:
    """Eval mode on ``device``; channels_last on CUDA; optionally ``torch.compile``."""
    device = torch.device(device)
    net = net.to(device).eval()
    if device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)
    if compile:
        net = torch.compile(net)
    return net


@torch.inference_mode()
def infer(net: PolicyValueNet, obs, device: str | torch.device = "cpu"):
    """Batched inference: ``obs [B, C, G, G]`` numpy -> numpy ``(logits [B, A] float32,
    values [B, P] float32, seat-relative)``; bf16 autocast on CUDA."""
    device = torch.device(device)
    x = torch.from_numpy(obs).to(device, non_blocking=True)
    if device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits, values = net(x)
    else:
        logits, values = net(x)
    return logits.float().cpu().numpy(), values.float().cpu().numpy()
