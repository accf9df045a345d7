"""Selfplay and search on CPU and GPU in one call (JSON): the prepared script for a GPU
machine (issue "Selfplay throughput"; README "Performance", GPU rows).

    python benchmarks/bench_gpu.py --out gpu.json

Runs `bench_selfplay.py` (continuous slots, time-bounded windows) for square8 (``compact``,
16 simulations) and square19 (``medium``, 32 simulations) at 64 / 256 / 1024 game slots:
the GPU runs one after another (each owns the GPU), the CPU runs (one thread each, eager
torch and ONNX Runtime) side by side on the other cores meanwhile. Then `bench_search.py`'s
in-search vs standalone inference ratio with ``small`` at B = 128 on both devices. Every
child has a timeout; a failed or timed-out child is recorded with its error, not fatal.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BOARDS = {"square8": ("compact", 16, 15.0), "square19": ("medium", 32, 25.0)}
SLOTS = (64, 256, 1024)


def _selfplay_cmd(board: str, slots: int, device: str, backend: str) -> list[str]:
    preset, sims, seconds = BOARDS[board]
    return [sys.executable, str(HERE / "bench_selfplay.py"), "--board", board, "--preset",
            preset, "--sims", str(sims), "--games", str(slots), "--seconds", str(seconds),
            "--device", device, "--backend", backend]


def _search_cmd(device: str, backend: str) -> list[str]:
    return [sys.executable, str(HERE / "bench_search.py"), "--presets", "small", "--batches",
            "128", "--sims", "16", "--device", device, "--backend", backend]


def _result(proc: subprocess.Popen, started: float, timeout: float, cmd: list[str]) -> dict:
    try:
        out, err = proc.communicate(timeout=max(1.0, timeout - (time.time() - started)))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"cmd": " ".join(cmd[1:]), "error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"cmd": " ".join(cmd[1:]), "error": err[-2000:]}
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="gpu.json")
    ap.add_argument("--timeout", type=float, default=200.0, help="seconds per child")
    ap.add_argument("--boards", nargs="+", default=list(BOARDS))
    ap.add_argument("--slots", nargs="+", type=int, default=list(SLOTS))
    args = ap.parse_args()
    import torch  # the parent only names the card

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    cpu_cmds = [_selfplay_cmd(b, n, "cpu", backend) for b in args.boards for n in args.slots
                for backend in ("torch", "onnxruntime")]
    started = time.time()
    cpu_procs = [(subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True), c) for c in cpu_cmds]
    rows = []
    if gpu:
        for cmd in ([_selfplay_cmd(b, n, "cuda", "torch") for b in args.boards
                     for n in args.slots] + [_search_cmd("cuda", "torch")]):
            t = time.time()
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            rows.append(_result(proc, t, args.timeout, cmd))
            print(json.dumps(rows[-1])[:300], flush=True)
    rows += [_result(p, started, args.timeout * 2, c) for p, c in cpu_procs]
    for cmd in (_search_cmd("cpu", "torch"), _search_cmd("cpu", "onnxruntime")):
        t = time.time()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        rows.append(_result(proc, t, args.timeout, cmd))
    report = {"benchmark": "gpu", "gpu": gpu, "torch": torch.__version__,
              "wall_s": round(time.time() - started, 1), "results": rows}
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
