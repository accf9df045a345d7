"""Replay buffer benchmark (JSON): samples/s handed to a trainer by the plain `Buffer`
and through the `ReplayBuffer` actor (``ray.get(buffer.sample.remote(n, ...))``, one call
at a time), add throughput, and bytes per square8 sample in memory.

Targets (reported, not asserted): >= 100,000 samples/s to a trainer, <= 1 KB per square8
sample. Data are synthetic square8 samples with full 32-entry policies.

    python benchmarks/bench_buffer.py --capacity 200000 --sizes 256 1024 4096
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time

import numpy as np

from ringrift_ray.config import BufferConfig
from ringrift_ray.replay.buffer import Buffer
from ringrift_ray.samples import SampleBatch


def synthetic_batch(n: int, first_id: int, rng: np.random.Generator, entries: int = 32
                    ) -> SampleBatch:
    """``n`` random square8 / 2-player samples with ``entries`` policy entries each."""
    return SampleBatch(
        board="square8", players=2,
        cells=rng.integers(0, 256, (n, 10, 64), dtype=np.uint8),
        scalars=rng.random((n, 23)).astype(np.float16),
        policy_offsets=np.arange(n + 1, dtype=np.int64) * entries,
        policy_indices=rng.integers(0, 5000, n * entries, dtype=np.int32),
        policy_values=rng.random(n * entries, dtype=np.float32),
        values=rng.uniform(-1, 1, (n, 4)).astype(np.float32),
        to_move=rng.integers(1, 3, n, dtype=np.int8),
        ply=rng.integers(0, 500, n, dtype=np.int32),
        game_id=np.arange(first_id, first_id + n, dtype=np.int64),
        model_version=np.zeros(n, dtype=np.int32))


def _rate(fn, n: int, seconds: float) -> float:
    """Samples/s of calling ``fn()`` (which returns ``n`` samples) for about ``seconds``."""
    fn()  # warm up
    calls, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        calls += 1
    return calls * n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--capacity", type=int, default=200_000)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 4096])
    ap.add_argument("--recency-weight", type=float, default=1.0)
    ap.add_argument("--seconds", type=float, default=2.0, help="timing per measurement")
    args = ap.parse_args()

    cfg = BufferConfig(capacity=args.capacity, min_samples=1,
                       recency_weight=args.recency_weight)
    rng = np.random.default_rng(0)
    chunk = 10_000
    batches = [synthetic_batch(chunk, k * chunk, rng) for k in range(args.capacity // chunk)]

    store = Buffer(cfg, seed=0)
    t0 = time.perf_counter()
    for b in batches:
        store.add(b)
    add_rate = len(batches) * chunk / (time.perf_counter() - t0)
    s8 = store.stores[("square8", 2)]
    out = {"benchmark": "buffer", "capacity": args.capacity,
           "recency_weight": args.recency_weight,
           "bytes_per_square8_sample": s8.nbytes() / args.capacity,
           "sample_batch_bytes_per_sample": batches[0].nbytes() / chunk,
           "store_add_samples_per_s": round(add_rate),
           "store_sample_samples_per_s": {
               n: round(_rate(lambda n=n: store.sample(n, "square8", 2), n, args.seconds))
               for n in args.sizes}}

    import ray

    from actors.replay_buffer import ReplayBuffer

    tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=tmp, log_to_driver=False)
    try:
        buf = ReplayBuffer.remote(cfg, seed=0)
        refs = [ray.put(b) for b in batches]
        t0 = time.perf_counter()
        ray.get([buf.add.remote(r) for r in refs])
        out["actor_add_samples_per_s"] = round(len(batches) * chunk
                                               / (time.perf_counter() - t0))
        out["actor_sample_samples_per_s"] = {
            n: round(_rate(lambda n=n: ray.get(buf.sample.remote(n, "square8", 2)), n,
                           args.seconds)) for n in args.sizes}
        pipelined = {}
        for n in args.sizes:  # 4 requests in flight, as a prefetching trainer would
            def four(n=n):
                ray.get([buf.sample.remote(n, "square8", 2) for _ in range(4)])
            pipelined[n] = round(_rate(four, 4 * n, args.seconds))
        out["actor_sample_samples_per_s_4_in_flight"] = pipelined
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    out["targets"] = {"samples_per_s": 100_000, "bytes_per_square8_sample": 1024}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
