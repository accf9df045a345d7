"""``python -m experiments.serve CHECKPOINT[:SIMS] ... [--port 8000] [--replicas N]
[--gpus G]``: start the move service (``app.build_app``) and keep it up.

A local Ray is started unless ``RAY_ADDRESS`` is set (``ray job submit``), in which case
the application is deployed on that cluster. ``ringrift-ray serve`` runs this module.
Every checkpoint is read once before Ray starts, so a missing or unreadable one (or two
for one board and player count) exits 2 at once with the reason.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from ringrift_ray.net import load_checkpoint
from ringrift_ray.service.chooser import parse_model_spec

APP_NAME = "ringrift"
log = logging.getLogger("experiments.serve")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ringrift-ray serve", description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", metavar="CHECKPOINT[:SIMS]",
                   help="a checkpoint per board / player count; SIMS caps the simulations")
    p.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    p.add_argument("--host", default="127.0.0.1",
                   help="HTTP host (default 127.0.0.1; 0.0.0.0 to serve other machines)")
    p.add_argument("--replicas", type=int, default=1, help="replicas per model")
    p.add_argument("--gpus", type=float, default=0.0, help="GPUs per model replica")
    p.add_argument("--cpus", type=float, default=1.0, help="CPUs per model replica")
    p.add_argument("--threads", type=int, default=1, help="network threads per replica")
    p.add_argument("--max-pending", type=int, default=512,
                   help="positions in flight before 503 + Retry-After")
    p.add_argument("--timeout", type=float, default=60.0, help="request deadline, seconds")
    p.add_argument("--detach", action="store_true",
                   help="return once deployed (the application stays up on the cluster)")
    return p


def check_models(specs: list[str]) -> list[str]:
    """Each ``CHECKPOINT[:SIMS]`` readable, one per board / player count.

    Returns:
        The ``<board>_<P>p`` of each.

    Raises:
        FileNotFoundError, ValueError: the first bad checkpoint, or a repeated variant.
    """
    seen: dict[str, str] = {}
    for spec in specs:
        path, _ = parse_model_spec(spec)
        net, _ = load_checkpoint(path)
        variant = f"{net.spec.board}_{net.spec.players}p"
        if variant in seen:
            raise ValueError(f"{spec} and {seen[variant]} are both {variant} models")
        seen[variant] = spec
    return list(seen)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        variants = check_models(args.models)
    except (OSError, ValueError) as e:
        print(f"ringrift-ray serve: error: {e}", file=sys.stderr)
        sys.exit(2)
    joined = bool(os.environ.get("RAY_ADDRESS"))
    need = len(args.models) * args.replicas * args.cpus
    if not joined and need > (os.cpu_count() or 1):
        print(f"ringrift-ray serve: error: {len(args.models)} models x {args.replicas} "
              f"replicas x {args.cpus} CPUs need {need:g} CPUs, this machine has "
              f"{os.cpu_count()}; lower --cpus (e.g. --cpus 0.5)", file=sys.stderr)
        sys.exit(2)
    import ray
    from ray import serve

    from experiments.serve.app import ServeArgs, build_app

    cfg = ServeArgs(models=args.models, replicas=args.replicas, gpus=args.gpus,
                    cpus=args.cpus, threads=args.threads, max_pending=args.max_pending,
                    timeout_s=args.timeout)
    ray.init(address=os.environ.get("RAY_ADDRESS") if joined else None, namespace="serve")
    serve.start(http_options={"host": args.host, "port": args.port})
    serve.run(build_app(cfg), name=APP_NAME, route_prefix="/")
    log.info("serving %s on http://%s:%d (POST /ai/move, GET /play)", ", ".join(variants),
             args.host, args.port)
    if args.detach:
        return
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        serve.shutdown()


if __name__ == "__main__":
    main()
