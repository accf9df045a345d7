"""Inference throughput per backend (JSON): eager torch, ``torch.compile`` and ONNX Runtime,
per net preset, batch size and CPU thread count (positions/s; CPU only here).

    python benchmarks/bench_inference.py --presets tiny compact small --batches 16 64 256 1024

Inputs are real square8 positions (the start position's planes, repeated). Each cell is the
best of ``--repeats`` timed windows of ``--seconds`` after warm-up calls; ``torch.compile``
compiles once per preset and thread count (``dynamic=True``: one graph for every batch
size), which is not timed. ONNX Runtime is skipped
(``null``) when ``onnxruntime`` is not installed. ``--out`` also writes the JSON to a file.
"""

import argparse
import json
import time

import numpy as np
import torch

from ringrift_ray.cli.progress import progress
from ringrift_ray.encoding import encode
from ringrift_ray.game import new_game
from ringrift_ray.inference import Inference
from ringrift_ray.net import NetSpec, PolicyValueNet


def _rate(fn, batch: int, seconds: float, repeats: int) -> float:
    """Best positions/s of ``fn()`` over ``repeats`` windows of about ``seconds``."""
    for _ in range(3):
        fn()
    best = 0.0
    for _ in range(repeats):
        n, t = 0, time.perf_counter()
        while n == 0 or time.perf_counter() - t < seconds:
            fn()
            n += 1
        best = max(best, n * batch / (time.perf_counter() - t))
    return round(best, 1)


def _ort_session(net: PolicyValueNet, threads: int):
    try:
        return Inference(net, "onnxruntime", "cpu", threads).session
    except ImportError:
        return None


def _cells(args, preset: str, threads: int) -> list[dict]:
    torch.set_num_threads(threads)
    net = PolicyValueNet(NetSpec(args.board, args.players, preset)).eval()
    one = encode([new_game(args.board, args.players)])
    session = _ort_session(net, threads) if "onnxruntime" in args.backends else None
    compiled = torch.compile(net, dynamic=True) if "compile" in args.backends else None
    rows = []
    for b in args.batches:
        obs = np.repeat(one, b, axis=0)
        x = torch.from_numpy(obs)
        row = {"preset": preset, "threads": threads, "B": b}
        with torch.inference_mode():
            if "eager" in args.backends:
                row["eager"] = _rate(lambda x=x: net(x), b, args.seconds, args.repeats)
            if "compile" in args.backends:
                row["compile"] = _rate(lambda c=compiled, x=x: c(x), b, args.seconds,
                                       args.repeats)
        if "onnxruntime" in args.backends:
            row["onnxruntime"] = None if session is None else _rate(
                lambda o=obs: session.run(None, {"obs": o}), b, args.seconds, args.repeats)
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="square8")
    ap.add_argument("--players", type=int, default=2)
    ap.add_argument("--presets", nargs="+", default=["tiny", "compact", "small", "medium"])
    ap.add_argument("--batches", nargs="+", type=int, default=[16, 64, 256, 1024])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--backends", nargs="+", default=["eager", "compile", "onnxruntime"])
    ap.add_argument("--seconds", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    cells = [(p, t) for p in args.presets for t in args.threads]
    rows = []
    with progress(len(cells), "inference", "preset") as bar:
        for preset, threads in cells:
            rows += _cells(args, preset, threads)
            bar.update()
    result = {"benchmark": "inference", "board": args.board, "players": args.players,
              "device": "cpu", "torch": torch.__version__, "cells": rows}
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
