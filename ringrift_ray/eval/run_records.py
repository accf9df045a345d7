"""What a main-job run directory records besides ``league.json``: evaluation games and losses.

| file                       | written by                                          | read by       |
|----------------------------|-----------------------------------------------------|---------------|
| ``games/v<version>.jsonl`` | the evaluator (`save_games`)                        | `load_games`  |
| ``tensorboard/events.*``   | driver, trainer (``experiments/ops/tensorboard.py``)| `load_losses` |

``ringrift-ray show RUN_DIR`` lists and draws the games (``cli_view.py``); ``ringrift-ray elo
RUN_DIR`` plots the loss curves beside the league's Elo (`cli.plots.plot_elo`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ringrift_ray import storage

if TYPE_CHECKING:
    from ringrift_ray.eval.gate import Check


def save_games(checks: Mapping[str, Check], path: str | Path, *, version: int,
               swap_rule: bool = False) -> int:
    """Append the games of a candidate's checks to ``path`` (JSON lines, one game each):
    ``{"candidate", "version", "key", "opponent", "game", "seed", "seats", "ranks",
    "score", "capped", "board", "players", "swap_rule", "moves": [move text, ...]}``.
    ``seats`` names the agent at each seat (seat 0 = player 1), ``score`` is the
    candidate's, ``seed`` the seed of the game's batch. Returns the games written."""
    lines = []
    for key, c in checks.items():
        m = c.match
        for i, g in enumerate(m.games):
            seed = c.seeds[i] if i < len(c.seeds) else None
            lines.append(json.dumps({
                "candidate": m.names[0], "version": int(version), "key": key,
                "opponent": m.names[1], "game": i, "seed": seed,
                "seats": [m.names[a] for a in g.seat_agents], "ranks": list(g.seat_ranks),
                "score": g.score(0), "capped": g.capped, "board": m.board,
                "players": m.players, "swap_rule": swap_rule, "moves": list(g.move_texts)}))
    old = storage.read_text(path) if storage.exists(path) else ""  # no append on S3
    storage.write_text(path, old + "".join(line + "\n" for line in lines))
    return len(lines)


def load_games(path: str | Path) -> list[dict]:
    """The games `save_games` wrote to ``path``, in order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a line that is not a game record (the message names file and line).
    """
    if not storage.is_file(path):
        raise FileNotFoundError(f"games file not found: {path}")
    games = []
    for i, line in enumerate(storage.read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            game = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{i}: not JSON ({e})") from None
        if not isinstance(game, dict) or not isinstance(game.get("moves"), list):
            raise ValueError(f"{path}:{i}: not a game record (no move list)")
        games.append(game)
    return games


def load_losses(run_dir: storage.Location, prefix: str = "train/") -> dict[str, list[tuple]]:
    """Scalar curves ``{tag: [(step, value), ...]}`` under ``prefix`` from the TensorBoard
    event files in ``run_dir/tensorboard`` (a path or a storage URI; tensorboard's
    ``EventAccumulator`` reads local copies of files on object stores), sorted by step;
    ``{}`` when there are none."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = storage.join(run_dir, "tensorboard")
    names = [n for n in (storage.list_files(folder) if storage.is_dir(folder) else [])
             if n.startswith("events.out.tfevents.")]
    on_disk = storage.is_local(folder)  # else: read local copies of the files
    curves: dict[str, dict[int, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = storage.join(folder, name)
            if on_disk:
                local = storage.resolve(path)[1]
            else:
                local = Path(tmp) / name
                local.write_bytes(storage.read_bytes(path))
            acc = EventAccumulator(str(local), size_guidance={"scalars": 0})
            acc.Reload()
            for tag in acc.Tags()["scalars"]:
                if tag.startswith(prefix):
                    curves.setdefault(tag, {}).update((e.step, e.value)
                                                      for e in acc.Scalars(tag))
    return {tag: sorted(points.items()) for tag, points in sorted(curves.items())}
