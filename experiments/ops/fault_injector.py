"""Fault injection for a running main job: kill its named actors (namespace ``ringrift``,
``<run name>:<actor>``) or a Ray Train worker process (`inject`), remove a node of a local
cluster and add its replacement (`lose_node`), or stop the object store for a while
(`store_outage`), and time the recovery (`benchmarks/bench_soak.py` fires them at random).

    python -m experiments.ops.fault_injector --address <GCS address> --dashboard <URL> \\
        --run-name square8_2p --every 20 --duration 300

Each kill is one `FaultEvent`: what was killed, when, how long until it was back (the
actor alive again with one more restart; for a train worker, training past the step it
had reached), and for the replay buffer how many held samples the restarted process did
not restore. This is for testing and measuring; never point it at a run you care about.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import time
from dataclasses import dataclass

import numpy as np
import ray
from ray.util.state import list_actors

from experiments.ops.ray_session import NAMESPACE

TARGETS = ("selfplay_0", "replay_buffer", "evaluator", "train_worker")


@dataclass(frozen=True)
class FaultEvent:
    """One injected fault and its recovery."""

    target: str  # an actor name suffix of TARGETS
    at_s: float  # seconds since the injector started
    recovered_s: float | None  # seconds until recovered (None: not within the timeout)
    samples_lost: int | None  # replay buffer only: held before - restored after


def _alive(dashboard: str, name: str) -> tuple[int, int] | None:
    """``(num_restarts, pid)`` of the live actor named ``name``, else None."""
    for a in list_actors(address=dashboard, detail=True, filters=[("name", "=", name),
                         ("state", "=", "ALIVE")], raise_on_missing_output=False):
        return a.num_restarts, a.pid
    return None


def _train_pid(dashboard: str) -> int | None:
    alive = list_actors(address=dashboard, detail=True, raise_on_missing_output=False,
                        filters=[("class_name", "=", "RayTrainWorker"), ("state", "=", "ALIVE")])
    return alive[0].pid if alive else None


def _wait(predicate, timeout_s: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if predicate():
            return time.monotonic() - t0
        time.sleep(0.25)
    return None


def inject(run_name: str, target: str, dashboard: str, timeout_s: float = 120.0
           ) -> tuple[float | None, int | None]:
    """Kill ``target`` of run ``run_name`` and wait for its recovery.

    Returns:
        ``(seconds to recover or None, samples lost or None)``.

    Raises:
        ValueError: the target is not running (or an unknown target).
    """
    if target == "train_worker":
        budget = ray.get_actor(f"{run_name}:budget", namespace=NAMESPACE)
        pid, step = _train_pid(dashboard), ray.get(budget.train_step.remote())
        if pid is None:
            raise ValueError("no Ray Train worker is alive")
        os.kill(pid, signal.SIGKILL)
        return _wait(lambda: ray.get(budget.train_step.remote()) > step, timeout_s), None
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; one of {TARGETS}")
    name = f"{run_name}:{target}"
    before = _alive(dashboard, name)
    if before is None:
        raise ValueError(f"actor {name} is not alive")
    actor = ray.get_actor(name, namespace=NAMESPACE)
    held = ray.get(actor.stats.remote()).size if target == "replay_buffer" else None
    ray.kill(actor, no_restart=False)
    back = _wait(lambda: (_alive(dashboard, name) or (-1, 0))[0] > before[0], timeout_s)
    lost = None
    if held is not None and back is not None:
        lost = max(0, held - ray.get(ray.get_actor(name, namespace=NAMESPACE).restored.remote()))
    return back, lost


def _run_alive(dashboard: str, run_name: str) -> bool:
    """Whether every named actor of the run is alive (none restarting or pending)."""
    actors = list_actors(address=dashboard, detail=True, raise_on_missing_output=False,
                         filters=[("ray_namespace", "=", NAMESPACE)])
    mine = [a for a in actors if (a.name or "").startswith(f"{run_name}:")]
    return bool(mine) and all(a.state == "ALIVE" for a in mine)


def lose_node(cluster, role: str, run_name: str, dashboard: str, timeout_s: float = 300.0
              ) -> float | None:
    """Kill the node of ``role`` of a `local_cluster.LocalCluster` without warning, add its
    replacement (as an autoscaler would), and wait until every named actor of the run is
    alive again and training is past the step it had reached.

    Returns:
        Seconds from the removal to the recovery, None if not within ``timeout_s``.
    """
    budget = ray.get_actor(f"{run_name}:budget", namespace=NAMESPACE)
    step, t0 = ray.get(budget.train_step.remote()), time.monotonic()
    cluster.remove(role)
    cluster.add(role)
    left = timeout_s - (time.monotonic() - t0)
    back = _wait(lambda: _run_alive(dashboard, run_name)
                 and ray.get(budget.train_step.remote()) > step, left)
    return None if back is None else time.monotonic() - t0


def store_outage(stop, start, seconds: float, shards_now, timeout_s: float = 300.0
                 ) -> float | None:
    """Make the object store refuse connections for ``seconds`` (``stop()``, then
    ``start()``) and wait until the run writes a replay shard again.

    Args:
        stop, start: take the store down and bring it back (e.g. moto's server).
        seconds: the outage.
        shards_now: ``() -> number of replay shards`` of the run directory.

    Returns:
        Seconds from the store's return to the next new shard, None if not within
        ``timeout_s``.
    """
    before = shards_now()
    stop()
    try:
        time.sleep(seconds)
    finally:
        start()
    return _wait(lambda: shards_now() > before, timeout_s)


def run_injector(run_name: str, dashboard: str, every_s: float, duration_s: float,
                 seed: int = 0, targets: tuple[str, ...] = TARGETS) -> list[FaultEvent]:
    """Kill a target every ``every_s`` seconds for ``duration_s`` seconds: each round of
    ``len(targets)`` kills takes every target once, in random order (targets not running
    at that moment are skipped)."""
    rng = np.random.default_rng(seed)
    t0, events, queue = time.monotonic(), [], []
    while time.monotonic() - t0 < duration_s:
        time.sleep(every_s)
        queue = queue or [str(t) for t in rng.permutation(targets)]
        target = queue.pop()
        at = time.monotonic() - t0
        try:
            recovered, lost = inject(run_name, target, dashboard)
        except (ValueError, ray.exceptions.RayError):
            continue  # not running now (starting up, or finished)
        events.append(FaultEvent(target, round(at, 1),
                                 None if recovered is None else round(recovered, 1), lost))
    return events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--address", required=True, help="GCS address of the job's Ray")
    ap.add_argument("--dashboard", required=True, help="dashboard URL (State API)")
    ap.add_argument("--run-name", required=True)
    ap.add_argument("--every", type=float, default=20.0)
    ap.add_argument("--duration", type=float, default=300.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ray.init(address=args.address, namespace=NAMESPACE)
    events = run_injector(args.run_name, args.dashboard, args.every, args.duration, args.seed)
    print(json.dumps([dataclasses.asdict(e) for e in events], indent=2))


if __name__ == "__main__":
    main()
