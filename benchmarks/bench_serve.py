"""The move service's throughput and latency under concurrent clients (prints JSON).

Starts a private local Ray and the Serve application (``experiments.serve.app``) on a free
port with one freshly initialized square8 2-player network (``--preset``, default compact;
speed does not depend on the weights), then runs 1, 8 and 64 concurrent HTTP clients
(asyncio + aiohttp in this process), each posting ``POST /ai/move`` at ``--difficulty`` for
reference-trace states, one level after another for ``--seconds`` each. Per level:
requests/s, p50 / p99 latency, errors and CPU time per request (this process tree: clients
+ server); then the 64-vs-1 throughput ratio. The clients share the machine with the
server, as a co-located caller would. Serve runs with ``RAY_SERVE_THROUGHPUT_OPTIMIZED=1``
(as README "Serving a model" advises) and Ray's workers at nice 0 (Ray's default, 15, lets
any other busy process starve the server); the 1-minute load average at the end is
recorded, since other work on the machine skews every number.

    .venv/bin/python benchmarks/bench_serve.py --seconds 20 --out benchmarks/serve_cpu.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def states(limit: int = 400) -> list[dict]:
    """Request bodies from the square8 2p reference traces: decisions with a choice."""
    from reference import trace_games

    out = []
    for _, steps, _ in trace_games("square8_2p"):
        out += [{"game_state": s["state"], "state_extras": s["state_extras"],
                 "player_number": s["current_player"]}
                for s in steps if len(s["legal_moves"]) > 1]
        if len(out) >= limit:
            return out[:limit]
    return out


async def level(url: str, bodies: list[dict], clients: int, seconds: float,
                difficulty: int) -> dict:
    """``clients`` concurrent clients posting for ``seconds``: rate and latency."""
    import aiohttp

    latencies, errors, stop = [], 0, time.perf_counter() + seconds

    async def client(k: int, session) -> None:
        nonlocal errors
        i = k
        while time.perf_counter() < stop:
            body = {**bodies[i % len(bodies)], "difficulty": difficulty}
            t = time.perf_counter()
            async with session.post(f"{url}/ai/move", json=body) as r:
                await r.read()
                if r.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - t)
            i += clients

    limits = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=limits) as session:
        cpu0, start = cpu_seconds(), time.perf_counter()
        await asyncio.gather(*(client(k, session) for k in range(clients)))
        wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
    ms = np.array(latencies) * 1000
    return {"clients": clients, "requests": len(latencies), "errors": errors,
            "seconds": round(wall, 2), "requests_per_s": round(len(latencies) / wall, 2),
            "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "cpu_ms_per_request": round(cpu * 1000 / max(len(latencies), 1), 2)}


def cpu_seconds() -> float:
    """CPU time (user + system, seconds) of this process and every process under it: the
    clients, and the local Ray with Serve's proxy, ingress and model replicas (Linux
    ``/proc``)."""
    parent, ticks = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # a process that just ended
            continue
        pid = int(stat.parent.name)
        parent[pid], ticks[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    mine, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        kids = [p for p, pp in parent.items() if pp in frontier and p not in mine]
        mine.update(kids)
        frontier = kids
    return sum(ticks.get(p, 0) for p in mine) / os.sysconf("SC_CLK_TCK")


def start_service(preset: str, tmp: str) -> str:
    """A local Ray + the Serve application on a free port; returns its URL."""
    import ray
    from ray import serve

    from experiments.ops.local_cluster import free_port
    from experiments.serve.app import ServeArgs, build_app
    from ringrift_ray.net import NetSpec, PolicyValueNet, save_checkpoint

    path = f"{tmp}/square8_2p_{preset}.pt"
    save_checkpoint(PolicyValueNet(NetSpec("square8", 2, preset)), path)
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=tmp, log_to_driver=False)
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(build_app(ServeArgs(models=[path], cpus=0, max_pending=4096)),
              name="bench", route_prefix="/")
    return f"http://127.0.0.1:{port}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="compact", help="network preset (default compact)")
    p.add_argument("--difficulty", type=int, default=5, help="1-10 (5: 16 simulations)")
    p.add_argument("--seconds", type=float, default=20.0, help="per concurrency level")
    p.add_argument("--levels", default="1,8,64", help="client counts")
    p.add_argument("--out", default=None, help="also write the JSON here (Ray may print "
                   "its own lines on stdout at shutdown)")
    args = p.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Ray starts its workers (Serve's proxy and replicas) at nice 15; the clients run at 0.
    # On a shared machine that starves the server exactly when it is busiest (64 clients).
    os.environ.setdefault("RAY_worker_niceness", "0")
    os.environ.setdefault("RAY_SERVE_THROUGHPUT_OPTIMIZED", "1")  # as the launcher runs it
    tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    bodies = states()
    url = start_service(args.preset, tmp)
    asyncio.run(level(url, bodies, 8, 3.0, args.difficulty))  # warm-up, not reported
    levels = [asyncio.run(level(url, bodies, int(c), args.seconds, args.difficulty))
              for c in args.levels.split(",")]
    from ray import serve

    serve.shutdown()
    rate = {lv["clients"]: lv["requests_per_s"] for lv in levels}
    text = json.dumps({
        "benchmark": "bench_serve", "board": "square8", "players": 2,
        "preset": args.preset, "difficulty": args.difficulty,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "levels": levels,
        "throughput_64_vs_1": round(rate[64] / rate[1], 2) if {1, 64} <= rate.keys() else None,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
