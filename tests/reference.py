"""Loading the shared reference material (contract vectors, traces) for the tests."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
TRACES = REFERENCE / "traces"
VECTORS = REFERENCE / "contract-vectors" / "v2"


def trace_games(name: str) -> Iterator[tuple[dict, list[dict], dict]]:
    """(game_start, steps, game_end) for every game of ``traces/<name>.jsonl.gz``."""
    start, steps = None, []
    with gzip.open(TRACES / f"{name}.jsonl.gz", "rt") as f:
        for line in f:
            d = json.loads(line)
            if d["kind"] == "game_start":
                start, steps = d, []
            elif d["kind"] == "step":
                steps.append(d)
            elif d["kind"] == "game_end":
                yield start, steps, d


def contract_vectors() -> list[dict]:
    """All contract vectors, each with its bundle file name under ``_file``."""
    out = []
    for path in sorted(VECTORS.glob("*.json")):
        bundle = json.loads(path.read_text())
        for v in bundle.get("vectors", []):
            v["_file"] = path.name
            out.append(v)
    return out


def trusted_ids() -> set[str]:
    text = (REFERENCE / "contract-vectors" / "TRUSTED.txt").read_text()
    return {line.strip() for line in text.splitlines() if line.strip()}
