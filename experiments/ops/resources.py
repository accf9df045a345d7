"""What a job (the main job, or PBT) asks the Ray cluster for, and whether the cluster can
give it.

Ray Train retries a worker group it cannot place forever, an actor that fits no node waits
forever and PBT cannot rank a member that is still pending, so the driver checks the request
first (`wait_for_resources`): on a local Ray it started itself the answer is final at once;
on a cluster it joined (``ray job submit``, an autoscaling cluster) it waits up to
``run.startup_timeout_s`` for nodes to appear, then fails with a message that names the
request and what the cluster has.

A running job can lose capacity: a node that disappears without warning takes its actors
and its share of the request with it. Ray restarts the actors (and Ray Train the worker
group) as soon as a node that can hold them joins (an autoscaler's replacement), so the
driver only watches (`CapacityWatch`): capacity that stays missing for longer than
``run.startup_timeout_s`` stops the run with `ResourcesUnavailable` (the run directory is
resumable: the same command, re-run, continues it).
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter

import ray

from ringrift_ray.config import AlphaZeroConfig

log = logging.getLogger(__name__)


class ResourcesUnavailable(RuntimeError):
    """The cluster cannot meet the job's resource request (message names both)."""


def bundles(cfg: AlphaZeroConfig) -> dict[str, tuple[int, dict[str, float]]]:
    """The job's placement requests: ``{what: (count, resources of one)}`` for the selfplay
    actors, then for the main job the Ray Train workers, the replay buffer (with
    ``run.buffer_resources``) and the evaluator (when it reserves anything), for a PBT
    job (a config with ``pbt``, `experiments.tune.config.PBTExperimentConfig`) the
    population members, which must all run at once (a pending member is hidden from
    PBT)."""
    run = cfg.run
    selfplay = {"CPU": run.selfplay_cpus_per_worker, **run.selfplay_resources}
    if run.use_gpu:
        selfplay["GPU"] = run.selfplay_gpus_per_worker
    out = {"selfplay actor": (run.selfplay_workers, selfplay)}
    pbt = getattr(cfg, "pbt", None)
    if pbt is not None:
        out["population member"] = (pbt.population, {"CPU": pbt.member_cpus,
                                                     "GPU": pbt.member_gpus})
    else:
        train = {"CPU": run.train_cpus_per_worker, **run.train_resources}
        if run.use_gpu:
            train["GPU"] = run.train_gpus_per_worker
        out["train worker"] = (run.train_workers, train)
        if run.buffer_resources:
            out["replay buffer"] = (1, dict(run.buffer_resources))
        evaluator = {"CPU": cfg.eval.cpus, "GPU": cfg.eval.gpus, **run.eval_resources}
        if cfg.eval.enabled and any(v > 0 for v in evaluator.values()):
            out["evaluator"] = (1, evaluator)
    return {k: (n, {r: v for r, v in res.items() if v > 0}) for k, (n, res) in out.items()}


def total_request(cfg: AlphaZeroConfig) -> dict[str, float]:
    """Sum of every bundle: ``{resource: amount}``."""
    total: Counter = Counter()
    for n, res in bundles(cfg).values():
        for r, v in res.items():
            total[r] += n * v
    return dict(total)


def shortfall(cfg: AlphaZeroConfig, nodes: list[dict[str, float]]) -> str | None:
    """Why ``nodes`` (each node's total resources) cannot hold the job, or None if they can.

    Checks the total of every resource and that each kind of bundle fits on some node (a
    train worker's CPU and custom resources must come from one node). Fragmentation across
    several bundles on one node is not modelled.
    """
    have: Counter = Counter()
    for node in nodes:
        have.update(node)
    need = total_request(cfg)
    short = {r: (v, have.get(r, 0.0)) for r, v in need.items() if v > have.get(r, 0.0) + 1e-9}
    if short:
        return "; ".join(f"{r}: needs {v:g}, cluster has {h:g}" for r, (v, h) in short.items())
    for what, (_, res) in bundles(cfg).items():
        if not any(all(node.get(r, 0.0) + 1e-9 >= v for r, v in res.items()) for node in nodes):
            return f"no node can hold one {what} {res}"
    return None


def cluster_nodes() -> list[dict[str, float]]:
    """Total resources of each live node of the connected Ray cluster."""
    return [dict(n["Resources"]) for n in ray.nodes() if n.get("Alive")]


def wait_for_resources(cfg: AlphaZeroConfig, timeout_s: float) -> None:
    """Return once the cluster can hold the job; check every 5 s for up to ``timeout_s``.

    Raises:
        ResourcesUnavailable: still short after ``timeout_s`` (0: checked once); the
            message names the request per bundle and the cluster's resources.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        nodes = cluster_nodes()
        why = shortfall(cfg, nodes)
        if why is None:
            return
        if time.monotonic() >= deadline:
            raise ResourcesUnavailable(_cannot_run(cfg, why, nodes))
        log.warning("waiting for resources (%s); %.0f s left", why,
                    deadline - time.monotonic())
        time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))


def _cannot_run(cfg: AlphaZeroConfig, why: str, nodes: list[dict[str, float]]) -> str:
    """The message of `ResourcesUnavailable`: the shortfall, the request per bundle and
    the cluster's resources."""
    request = ", ".join(f"{n} x {what} {res}" for what, (n, res) in bundles(cfg).items())
    have: Counter = Counter()
    for node in nodes:
        have.update(node)
    return (f"the cluster cannot run this job ({why}). Request: {request}. Cluster: "
            f"{len(nodes)} node(s), {dict(sorted(have.items()))}")


class CapacityWatch:
    """The running job's capacity, checked at most every `EVERY_S` seconds (`check`): a
    lost node leaves the cluster short of the request until a replacement joins; the
    watch logs when that starts and ends, and gives up after ``timeout_s`` seconds short.

    Args:
        cfg: the job's config (its request, `bundles`).
        timeout_s: seconds the cluster may stay short (``run.startup_timeout_s``).
    """

    EVERY_S = 5.0

    def __init__(self, cfg: AlphaZeroConfig, timeout_s: float):
        self.cfg, self.timeout_s = cfg, timeout_s
        self.short_since: float | None = None  # monotonic time the shortfall was first seen
        self.checked_at = -math.inf

    def check(self) -> ResourcesUnavailable | None:
        """None while the cluster can hold the job or has been short for at most
        ``timeout_s`` seconds; else the error to stop the run with (not raised)."""
        now = time.monotonic()
        if now - self.checked_at < self.EVERY_S:
            return None
        self.checked_at = now
        nodes = cluster_nodes()
        why = shortfall(self.cfg, nodes)
        if why is None:
            if self.short_since is not None:
                log.warning("capacity is back after %.0f s", now - self.short_since)
            self.short_since = None
            return None
        if self.short_since is None:
            self.short_since = now
            log.warning("the cluster lost capacity (%s); waiting up to %g s "
                        "(run.startup_timeout_s) for nodes to replace it", why, self.timeout_s)
        if now - self.short_since < self.timeout_s:
            return None
        return ResourcesUnavailable(
            f"capacity lost for {now - self.short_since:.0f} s (run.startup_timeout_s = "
            f"{self.timeout_s:g}): {_cannot_run(self.cfg, why, nodes)}. The run directory "
            f"is resumable: re-run the same command once the cluster has the capacity")
