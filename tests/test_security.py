"""Security: Ray token auth is never switched off, nothing we read can run code (checkpoints
with ``torch.load(weights_only=True)``, configs with the safe YAML loader, league tables as
JSON, replay data as Parquet: no pickle), checked by grepping the source tree for the
forbidden patterns and by feeding each reader a payload that would run code if unpickled.
"""

import pickle
import re
from pathlib import Path

import pyarrow as pa
import pytest
import torch

from ringrift_ray.config import AlphaZeroConfig, load_yaml
from ringrift_ray.eval import league
from ringrift_ray.net import load_checkpoint
from ringrift_ray.replay import shards

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".venv", "runs", "__pycache__", ".pytest_cache", ".ruff_cache",
             ".hypothesis", "ringrift_ray.egg-info", "node_modules"}
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".cfg", ".ini", ".sh", ".json"}
# the NPZ export (issue 13's reference layout) is the one format that needs pickle to read
ALLOW_PICKLE_FILES = {"ringrift_ray/replay/npz.py", "tests/test_replay.py"}
FORBIDDEN = {
    "weights_only=False": re.compile(r"weights_only\s*=\s*False"),
    "RAY_AUTH_MODE=disabled": re.compile(r"(RAY_AUTH_MODE|auth_mode)\W{0,6}disabled", re.I),
    "pickle / marshal load": re.compile(
        r"\b(c?pickle|cloudpickle|dill|marshal|joblib)\.loads?\(|read_pickle\(|shelve\.open\("),
    "unsafe YAML loader": re.compile(
        r"yaml\.(unsafe_load|full_load|load_all)\(|(Full|Unsafe)Loader|Loader\s*=\s*yaml\.Loader"),
}


def _source_files():
    for path in sorted(ROOT.rglob("*")):
        rel = path.relative_to(ROOT)
        if SKIP_DIRS & set(rel.parts[:-1]) or not path.is_file():
            continue
        if path.suffix in TEXT_SUFFIXES or path.name in ("Makefile", "run"):
            yield rel.as_posix(), path.read_text(encoding="utf-8", errors="replace")


SOURCES = dict(_source_files())
SELF = Path(__file__).resolve().relative_to(ROOT).as_posix()


def test_the_tree_is_scanned():
    assert {"ringrift_ray/net.py", "cluster.yaml", "README.md", "Makefile",
            "experiments/alphazero.py"} <= set(SOURCES)


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_no_forbidden_pattern_in_the_tree(name):
    hits = [f"{rel}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
            for rel, text in SOURCES.items() if rel != SELF
            for m in FORBIDDEN[name].finditer(text)]
    assert not hits, f"{name}: {hits}"


def test_every_torch_load_is_weights_only():
    calls = [(rel, m.group(0)) for rel, text in SOURCES.items() if rel != SELF
             for m in re.finditer(r"torch\.load\((?:[^()]|\([^()]*\))*\)", text)]
    assert calls, "expected torch.load calls (checkpoints, Ray Train checkpoints)"
    bad = [(rel, call) for rel, call in calls if "weights_only=True" not in call]
    assert not bad, bad


def test_every_yaml_load_is_safe():
    calls = [(rel, line.strip()) for rel, text in SOURCES.items() if rel != SELF
             for line in text.splitlines() if re.search(r"yaml\.load\(", line)]
    assert all("SafeLoader" in line for _, line in calls), calls


def test_pickle_is_allowed_only_for_the_npz_export():
    users = {rel for rel, text in SOURCES.items() if rel != SELF
             and re.search(r"allow_pickle\s*=\s*True", text)}
    assert users <= ALLOW_PICKLE_FILES, users - ALLOW_PICKLE_FILES
    assert "pickle" not in SOURCES["ringrift_ray/replay/shards.py"].replace("never use pickle", "")


def test_token_auth_is_on_where_ray_starts():
    command = re.compile(r"(?<!`)\bray (start|job submit)\b")  # not prose in `backticks`
    starts = [line for text in (SOURCES["cluster.yaml"], SOURCES["README.md"])
              for line in text.splitlines()
              if command.search(line) and not line.lstrip().startswith("#")]
    assert len(starts) >= 3 and all("RAY_AUTH_MODE=token" in line for line in starts), starts


class _Payload:
    """Unpickling this would create ``marker``: proof that a reader ran code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def test_checkpoint_with_code_is_refused_without_running_it(tmp_path):
    marker, path = tmp_path / "ran", tmp_path / "evil.pt"
    torch.save({"spec": {"board": "square8", "players": 2, "preset": "tiny"},
                "state_dict": {}, "extra": _Payload(marker)}, path)
    with pytest.raises(ValueError, match=f"{path}: not a readable checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()


def test_other_readers_refuse_pickles_without_running_them(tmp_path):
    marker = tmp_path / "ran"
    blob = pickle.dumps(_Payload(marker))
    (tmp_path / "league.json").write_bytes(blob)
    with pytest.raises(ValueError, match="league.json: not valid JSON"):
        league.load_league(tmp_path / "league.json")
    (tmp_path / "config.yaml").write_bytes(blob)
    with pytest.raises(ValueError, match="config.yaml"):
        load_yaml(tmp_path / "config.yaml", AlphaZeroConfig)
    (tmp_path / "tagged.yaml").write_text(
        f"game: !!python/object/apply:pathlib.Path.touch [{str(marker)!r}]\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_yaml(tmp_path / "tagged.yaml", AlphaZeroConfig)
    shard_dir = tmp_path / "shards"
    shard_dir.mkdir()
    (shard_dir / "square8_2p_evil.parquet").write_bytes(blob)
    assert shards.read_shards(shard_dir, "square8", 2, on_error="skip") is None
    assert (shard_dir / shards.QUARANTINE_DIR / "square8_2p_evil.parquet").exists()
    assert not marker.exists()


def test_pyarrow_does_not_unpickle_extension_types():
    # pyarrow < 14.0.1 rebuilt pickled extension types from Parquet metadata (CVE-2023-47248)
    assert tuple(int(v) for v in pa.__version__.split(".")[:3]) >= (14, 0, 1)
