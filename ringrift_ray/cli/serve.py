"""``ringrift-ray serve CHECKPOINT[:SIMS] ... [--port 8000] [--replicas N] [--gpus G]``:
the move service on Ray Serve (``experiments/serve/``, README "Serving a model").

The library never imports Ray (import rule 1 of docs/architecture.md), so this command
does not import the Serve code: it replaces its own process with a fresh interpreter
running ``python -m experiments.serve`` with the same arguments (``--help`` lists them).
"""

from __future__ import annotations

import os
import sys

LAUNCHER = "experiments.serve"
HELP = ("serve checkpoints over HTTP on Ray Serve: the reference /ai/move API, "
        "/ai/moves_batch, /health, /ready, /metrics and a play page at /play")


def add_parser(sub) -> None:
    """The ``serve`` entry of ``ringrift-ray --help`` (its arguments are the launcher's)."""
    sub.add_parser("serve", help=HELP, add_help=False)


def run(args: list[str]) -> None:
    """Become ``python -m experiments.serve ARGS`` (never returns)."""
    os.execv(sys.executable, [sys.executable, "-m", LAUNCHER, *args])
