"""Soak under faults (JSON): the main job for ``--minutes`` on a simulated 3-node cluster
(a head that runs no tasks, a selfplay node with the replay buffer, a trainer node with the
evaluator; `local_cluster.start_cluster`), its run directory on a moto S3 server that this
process holds, while a random fault fires every ``--every LOW HIGH`` seconds: an actor
killed (selfplay worker, replay buffer or evaluator), a Ray Train worker killed, a node
removed without warning and replaced, or the store refusing connections for 10-30 s; the
interval runs from one fault's start to the next, so a slow recovery does not thin them out
(`experiments.ops.fault_injector`). Prints faults by kind with recovery seconds (median,
max), the run's sample accounting and train steps (``summary.json``), and each actor's
resident memory and open files after warm-up and before the end, their ratio, and which
actors restarted in between (read from ``/proc``: Linux; every node of the simulated cluster
is a local process).

    python benchmarks/bench_soak.py --minutes 30 --every 60 90
"""

import os

os.environ.setdefault("RAY_AUTH_MODE", "token")  # before Ray is imported: a local cluster
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # runs with token auth

import argparse  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import ray  # noqa: E402

from experiments.ops import fault_injector as faults  # noqa: E402
from experiments.ops.local_cluster import start_cluster, submit_job  # noqa: E402
from ringrift_ray import storage  # noqa: E402
from ringrift_ray.replay import shards  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUN = "soak"
AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
       "AWS_DEFAULT_REGION": "us-east-1"}
KINDS = ("actor", "train_worker", "node", "store")


class Store:
    """A moto S3 server in this process (its objects survive a stop and start)."""

    def __init__(self) -> None:
        import boto3
        from moto import server

        os.environ.update(AWS)
        self.server = server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        self.host, self.port = self.server.get_host_and_port()
        boto3.client("s3", endpoint_url=f"http://{self.host}:{self.port}",
                     region_name="us-east-1").create_bucket(Bucket="soak")
        self.run_dir = (f"s3://soak/{RUN}?endpoint_override={self.host}:{self.port}"
                        "&scheme=http")

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        from moto import server

        self.server = server.ThreadedMotoServer(ip_address=self.host, port=self.port,
                                                verbose=False)
        self.server.start()

    def shards(self) -> int:
        replay = storage.join(self.run_dir, "replay")
        try:
            return len(shards.list_shards(replay)) if storage.is_dir(replay) else 0
        except OSError:
            return 0


def _entrypoint(run_dir: str, seconds: float) -> str:
    sets = [f"run.time_budget_s={seconds}", "run.train_steps=10000000",
            "run.checkpoint_every=50", "run.max_train_failures=1000", "run.log_every_s=30",
            "run.startup_timeout_s=300", "run.selfplay_resources={selfplay_node: 1}",
            "run.buffer_resources={selfplay_node: 1}", "run.train_resources={trainer_node: 1}",
            "run.eval_resources={trainer_node: 1}", "buffer.flush_every_samples=512",
            "buffer.target_replay_ratio=4", "eval.final_timeout_s=300"]
    args = [sys.executable, "-m", "experiments.alphazero", "--config",
            "experiments/configs/smoke.yaml", "--run-dir", run_dir]
    for s in sets:
        args += ["--set", s]
    return " ".join(shlex.quote(a) for a in args)


def _processes(dashboard: str) -> dict[str, dict]:
    """``{actor name or class: {"pid", "rss_mb", "open_files"}}`` of the live actors."""
    from ray.util.state import list_actors

    out = {}
    for a in list_actors(address=dashboard, detail=True, raise_on_missing_output=False,
                         filters=[("state", "=", "ALIVE")], limit=1000):
        key = a.name or a.class_name
        try:
            status = Path(f"/proc/{a.pid}/status").read_text()
            rss = next(int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmRSS:"))
            files = len(os.listdir(f"/proc/{a.pid}/fd"))
        except (OSError, StopIteration):
            continue
        out[key] = {"pid": a.pid, "rss_mb": round(rss / 1024, 1), "open_files": files}
    return out


def _fire(kind: str, rng, cluster, store: Store) -> tuple[str, float | None]:
    """One fault of ``kind``: ``(target, seconds to recover or None)``."""
    if kind == "actor":
        target = str(rng.choice(["selfplay_0", "replay_buffer", "evaluator"]))
        return target, faults.inject(RUN, target, cluster.dashboard)[0]
    if kind == "train_worker":
        return "train_worker", faults.inject(RUN, "train_worker", cluster.dashboard)[0]
    if kind == "node":
        role = str(rng.choice(["selfplay", "trainer"]))
        return f"{role} node", faults.lose_node(cluster, role, RUN, cluster.dashboard)
    seconds = float(rng.uniform(10, 30))
    return f"store {seconds:.0f} s", faults.store_outage(store.stop, store.start, seconds,
                                                         store.shards)


def _inject_until(end: float, every: tuple[float, float], rng, cluster, store: Store,
                  between=lambda: None) -> list[dict]:
    """Fire random faults until ``end`` (monotonic seconds), each ``every`` (uniform) seconds
    after the previous one started (its recovery included), calling ``between()`` before
    each wait; one record per fault."""
    events, t0 = [], time.monotonic()
    start = t0
    while True:
        between()
        start += float(rng.uniform(*every))
        if start > end:
            return events
        time.sleep(max(0.0, start - time.monotonic()))
        kind = str(rng.choice(KINDS))
        at = time.monotonic() - t0
        try:
            target, recovered = _fire(kind, rng, cluster, store)
        except (ValueError, ray.exceptions.RayError) as e:  # not running at that moment
            events.append({"kind": kind, "at_s": round(at, 1), "skipped": repr(e)[:200]})
            continue
        events.append({"kind": kind, "target": target, "at_s": round(at, 1),
                       "recovered_s": None if recovered is None else round(recovered, 1)})
        print(json.dumps(events[-1]), file=sys.stderr, flush=True)


def _by_kind(events: list[dict]) -> dict:
    out = {}
    for kind in KINDS:
        fired = [e for e in events if e["kind"] == kind and "target" in e]
        times = [e["recovered_s"] for e in fired if e["recovered_s"] is not None]
        out[kind] = {"faults": len(fired), "not_recovered": len(fired) - len(times),
                     "recovery_s_median": round(statistics.median(times), 1) if times else None,
                     "recovery_s_max": max(times, default=None)}
    return out


def _growth(start: dict, end: dict) -> dict:
    """RSS at the end / after warm-up per actor present both times (same process or not:
    `_restarted` names those whose process changed)."""
    return {k: round(end[k]["rss_mb"] / start[k]["rss_mb"], 2)
            for k in start if k in end and start[k]["rss_mb"] > 0}


def _restarted(start: dict, end: dict) -> list[str]:
    """Actors present both times whose process (pid) changed: restarted by a fault."""
    return sorted(k for k in start if k in end and start[k]["pid"] != end[k]["pid"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="the job's time budget")
    ap.add_argument("--every", type=float, nargs=2, default=(60.0, 120.0),
                    metavar=("LOW", "HIGH"), help="seconds between faults (uniform)")
    ap.add_argument("--warmup", type=float, default=600.0, help="seconds before the "
                    "memory reading that growth is measured from (taken between faults; the "
                    "smoke config's 20,000-sample replay window fills in about 6 minutes)")
    ap.add_argument("--first-fault", type=float, default=120.0, help="seconds before the "
                    "first fault")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args()
    rng, store = np.random.default_rng(args.seed), Store()
    tmp = tempfile.mkdtemp(prefix="soak", dir="/tmp")
    with start_cluster({"selfplay": 2, "trainer": 2}) as cluster:
        ray.init(address=cluster.cluster.address, namespace=faults.NAMESPACE,
                 log_to_driver=False)
        try:
            result = _soak(args, rng, store, cluster, tmp)
        finally:
            ray.shutdown()  # the cluster's head cannot be removed under a connected driver
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)


def _soak(args, rng, store: Store, cluster, tmp: str) -> dict:
    """Submit the job, fire the faults, read the summary; the JSON result."""
    seconds = args.minutes * 60
    t0 = time.monotonic()
    job = submit_job(cluster.dashboard, _entrypoint(store.run_dir, seconds), runtime_env={
        "working_dir": str(ROOT),
        "excludes": [".venv", ".git", "runs", "__pycache__", "*.egg-info", ".whl"],
        "env_vars": {**AWS, "RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0",
                     "TMPDIR": tmp}})
    time.sleep(args.first_fault)
    warm: dict = {}

    def read_after_warmup() -> None:  # once, between faults, once warm-up is over
        if not warm and time.monotonic() - t0 >= args.warmup:
            warm.update(at_s=round(time.monotonic() - t0, 1),
                        actors=_processes(cluster.dashboard))

    events = _inject_until(t0 + seconds - 60, tuple(args.every), rng, cluster, store,
                           between=read_after_warmup)
    end = _processes(cluster.dashboard)
    warm.setdefault("actors", end)
    warm.setdefault("at_s", round(time.monotonic() - t0, 1))
    status = _wait_job(cluster.dashboard, job, t0 + seconds + 900)
    summary = json.loads(storage.read_text(storage.join(store.run_dir, "summary.json")))
    return {
        "benchmark": "soak", "minutes": args.minutes, "every_s": list(args.every),
        "machine": f"{os.uname().machine}, {os.cpu_count()} CPUs",
        "job_status": status, "error": summary.get("error"),
        "train_step": summary.get("train_step"), "games": summary.get("games"),
        "samples": summary.get("samples"), "evaluated": summary.get("evaluated"),
        "faults": len([e for e in events if "target" in e]), "by_kind": _by_kind(events),
        "memory_after_warmup_at_s": warm["at_s"], "memory_after_warmup": warm["actors"],
        "memory_at_end": end, "rss_growth": _growth(warm["actors"], end),
        "rss_growth_max": max(_growth(warm["actors"], end).values(), default=None),
        "restarted": _restarted(warm["actors"], end),
        "events": events}


def _wait_job(dashboard: str, job: str, deadline: float) -> str:
    """The job's final status, or its status at ``deadline`` (monotonic seconds)."""
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(dashboard)
    status = client.get_job_status(job)
    while not status.is_terminal() and time.monotonic() < deadline:
        time.sleep(5)
        status = client.get_job_status(job)
    return str(status)


if __name__ == "__main__":
    main()
