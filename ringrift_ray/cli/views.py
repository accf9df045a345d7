"""The ``ringrift-ray`` commands that draw or print what a game or a run holds.

    ringrift-ray show --out game.html|pos.svg|pos.png [--board hex8 --players 3 --seed 1]
                      [--state state.json | --moves moves.txt] [--max-moves N]   (`show`)
    ringrift-ray show RUN_DIR [--game N [--candidate vV] --out game.html]      (`show_games`)
    ringrift-ray elo RUN_DIR [--out elo.png]                                          (`elo`)

An output's suffix picks the drawing: ``.html`` a step-through replay (`html_replay`),
``.svg`` / ``.png`` the final position (`pictures`). Arguments are parsed in ``cli.py``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ringrift_ray import storage
from ringrift_ray.cli import html_replay, pictures, plots
from ringrift_ray.eval import league, population, run_records

if TYPE_CHECKING:
    from ringrift_ray.eval.league import League
    from ringrift_ray.eval.population import Population


def show(out: str, board_type: str, num_players: int, seed: int = 0,
         state_file: str | None = None, moves_file: str | None = None,
         max_moves: int | None = None) -> int:
    """Draw a position (``.svg`` / ``.png``) or a game (``.html`` replay) to ``out``.

    The source is ``state_file`` (one reference-format position), else ``moves_file`` (a
    recorded game on ``board_type`` / ``num_players``), else a uniform-random game.

    Returns:
        The number of moves drawn.

    Raises:
        OSError: an unreadable input file.
        ValueError: an unsupported ``out`` suffix, a malformed state file, or an unparseable
            or illegal move (``IllegalMoveError``), named with its file and move number.
    """
    _check_suffix(out)
    if state_file is not None:
        states, moves = [pictures.load_state_file(state_file)], []
        title = f"RingRift position {os.path.basename(state_file)}"
    elif moves_file is not None:
        moves = html_replay.load_moves_file(moves_file)
        try:
            states = html_replay.replay_from_moves(board_type, num_players, moves)
        except ValueError as e:  # IllegalMoveError stays one
            raise type(e)(f"{moves_file}: {e}") from None
        title = f"RingRift {board_type} {num_players}p: {os.path.basename(moves_file)}"
    else:
        states, moves = html_replay.random_game(board_type, num_players, seed, max_moves)
        title = f"RingRift {board_type} {num_players}p random game, seed {seed}"
    return _draw(out, states, moves, title)


def _check_suffix(out: str) -> None:
    if os.path.splitext(out)[1].lower() not in (".html", ".svg", ".png"):
        raise ValueError(f"--out {out}: expected a .html, .svg or .png file")


def _draw(out: str, states: list, moves: list[str], title: str) -> int:
    """Write the replay (``.html``) or the last position (``.svg`` / ``.png``); print a line;
    return the number of moves."""
    if out.lower().endswith(".html"):
        html_replay.html_replay(states, moves, out, title=title)
    else:
        pictures.save_picture(states[-1], out, move=moves[-1] if moves else None,
                              caption=f"after move {len(moves)}: {moves[-1]}" if moves else None)
    print(f"wrote {out} ({len(moves)} moves, {len(states)} positions)")
    return len(moves)


def _games_file(run_dir: str, candidate: str | None) -> str:
    """``RUN_DIR/games/<candidate>.jsonl``, default the newest candidate's.

    Raises:
        FileNotFoundError: no run directory, no games, or none for ``candidate``.
    """
    folder = storage.join(run_dir, "games")
    if not storage.is_dir(run_dir):
        raise FileNotFoundError(f"run directory not found: {run_dir}")
    names = [f[:-6] for f in storage.list_files(folder) if f.endswith(".jsonl")] \
        if storage.is_dir(folder) else []
    if not names:
        raise FileNotFoundError(f"no evaluation games in {folder}")
    if candidate is None:
        candidate = max(names, key=lambda n: int(n[1:]) if n[1:].isdecimal() else -1)
    path = str(storage.join(folder, f"{candidate}.jsonl"))
    if candidate not in names:
        raise FileNotFoundError(f"no games of {candidate} in {folder} (have "
                                f"{', '.join(sorted(names))})")
    return path


def show_games(run_dir: str, game: int | None = None, out: str | None = None,
               candidate: str | None = None) -> list[dict]:
    """List the evaluation games of one candidate (``RUN_DIR/games/<candidate>.jsonl``,
    kept by the evaluator), or with ``game`` draw game ``N`` of that list to ``out`` as
    `show` does (``.html`` replay, or the final position as ``.svg`` / ``.png``).

    Returns:
        The candidate's games (`run_records.load_games`).

    Raises:
        FileNotFoundError: no run directory or no games (for ``candidate``).
        ValueError: ``game`` out of range, no ``out`` with ``game``, a malformed games file
            or an illegal move in it.
    """
    path = _games_file(run_dir, candidate)
    games = run_records.load_games(path)
    if game is None:
        print(f"{path}: {len(games)} games")
        for i, g in enumerate(games):
            result = {1.0: "win", 0.0: "loss"}.get(g["score"], f"score {g['score']:g}")
            print(f"{i:>4}  {g['candidate']} vs {g['opponent']:<10} seats "
                  f"{' '.join(g['seats'])}: {result}, {len(g['moves'])} moves"
                  + (" (capped)" if g.get("capped") else ""))
        return games
    if not 0 <= game < len(games):
        raise ValueError(f"--game {game}: {path} has games 0..{len(games) - 1}")
    if out is None:
        raise ValueError("--game needs --out FILE (.html, .svg or .png)")
    g = games[game]
    _check_suffix(out)
    try:
        states = html_replay.replay_from_moves(g["board"], g["players"], g["moves"],
                                               swap_rule=g.get("swap_rule", False))
    except ValueError as e:  # IllegalMoveError stays one
        raise type(e)(f"{path}, game {game}: {e}") from None
    _draw(out, states, g["moves"], f"RingRift {g['board']} {g['players']}p: {g['candidate']} "
          f"vs {g['opponent']}, game {game}, seats {' '.join(g['seats'])}")
    return games


def elo(run_dir: str, out: str) -> League | Population:
    """Print the league table of ``run_dir`` and save the Elo plot to ``out``, with the
    training-loss curves of the run's TensorBoard files (``train/*loss``) beside it. A PBT run
    directory (``population.json``, ``experiments/pbt.py``) gets the population table and
    one Elo line per member with its exploit events marked; a main-job run directory
    (``league.json``) gets the candidates' table and plot.

    Returns:
        The table: a `League` (``ringrift_ray.eval.league``) or a `Population`
        (``ringrift_ray.eval.population``).

    Raises:
        FileNotFoundError: ``run_dir`` or its ``league.json`` is missing.
        ValueError: an unreadable ``league.json`` / ``population.json``.
    """
    if not storage.is_dir(run_dir):
        raise FileNotFoundError(f"run directory not found: {run_dir}")
    if storage.exists(storage.join(run_dir, "population.json")):
        table = population.load_population(storage.join(run_dir, "population.json"))
        print(population.format_population(table))
        plots.plot_population(table, out)
    else:
        table = league.load_league(storage.join(run_dir, "league.json"))
        print(league.format_table(table))
        losses = run_records.load_losses(run_dir)
        if losses:
            print(f"loss curves: {', '.join(t for t in losses if t.endswith('loss'))}")
        plots.plot_elo(table, out, losses)
    print(f"wrote {out}")
    return table
