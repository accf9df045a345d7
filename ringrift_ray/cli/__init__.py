"""The `ringrift-ray` command line and what it shows a person:

- `commands`: the argument parser and the subcommands (`play`, `show`, `match`, `elo`,
  `pretrain`, `export`, ...),
- `views`: `show` / `show-games` / `elo` on a run directory,
- `pictures`: board pictures (PNG / SVG, matplotlib),
- `plots`: charts of a run's league / population tables (Elo, losses; PNG),
- `html_replay`: a self-contained HTML page that steps through a game.
"""

from ringrift_ray.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
