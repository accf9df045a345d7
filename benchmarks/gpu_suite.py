"""The GPU check in one command (JSON): CUDA unit checks, search and selfplay on the GPU, and
the main job end to end on a one-node GPU config, within about 8 minutes.

    python benchmarks/gpu_suite.py --out gpu_suite.json      # on the GPU host
    python benchmarks/gpu_suite.py --out cpu.json            # no CUDA: the CPU fallback

Parts (each in a child process with its own timeout; a failed or timed-out part is recorded
with its error and the suite goes on):

1. ``env``: Python, torch (the host's own build: 2.11 with CUDA there), CUDA device, Ray.
2. ``cuda_checks``: inference in bf16 against fp32 on real positions (value difference,
   policy top-1 agreement), and an nccl process group of one rank (an all-reduce).
3. ``search``: `bench_search.py` (``small``, B = 1024, 16 simulations): network evaluations
   per second inside search against standalone (``efficiency``, the in-search ratio).
4. ``selfplay``: `bench_selfplay.py`, square8 ``compact`` 16 simulations and square19
   ``medium`` 32 simulations, one process; square8 also in N processes at once.
5. ``main_job``: ``experiments/configs/gpu/square8_2p.yaml`` for ``--job-seconds``
   (selfplay actors on GPU shares, the trainer on nccl, the evaluator on a GPU share):
   games/s, samples/s, train steps, GPU utilization and memory (nvidia-ml-py, else
   ``nvidia-smi``) sampled every 2 s.

Without CUDA (``--cpu-fallback`` or no GPU found) the suite runs in seconds: the CUDA parts
are recorded as skipped, search and selfplay run tiny on the CPU, and the GPU config is
loaded and checked to fit one 16-CPU, 1-GPU node instead of being run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "benchmarks"
GPU_CONFIG = ROOT / "experiments" / "configs" / "gpu" / "square8_2p.yaml"
GPU_NODE = {"CPU": 16.0, "GPU": 1.0}  # the one-node GPU host the config is sized for


def child(cmd: list[str], timeout: float, env: dict | None = None) -> dict:
    """Run ``cmd`` and parse the JSON it prints last; ``{"error": ...}`` on failure."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONPATH": path, **(env or {})})
    except subprocess.TimeoutExpired:
        return {"cmd": " ".join(cmd[1:]), "error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"cmd": " ".join(cmd[1:]), "error": (proc.stderr or proc.stdout)[-2000:]}
    text = proc.stdout
    try:
        return json.loads(text[text.index("{"):])
    except ValueError:
        return {"cmd": " ".join(cmd[1:]), "error": f"no JSON in output: {text[-500:]}"}


def env_info() -> dict:
    """Versions and the CUDA device (in this process: imports torch and, if present, Ray)."""
    import torch

    info = {"python": sys.version.split()[0], "torch": torch.__version__,
            "cuda": torch.cuda.is_available(), "cuda_version": torch.version.cuda,
            "device": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    try:
        import ray

        info["ray"] = ray.__version__
    except ImportError as e:
        info["ray"] = f"missing: {e}"
    return info


def cuda_checks() -> dict:
    """bf16 inference against fp32 on positions of random games, and an nccl group of one
    rank (run as ``gpu_suite.py --cuda-checks`` in a child process)."""
    import numpy as np
    import torch
    import torch.distributed as dist

    from ringrift_ray.encoding import encode
    from ringrift_ray.inference import Inference
    from ringrift_ray.net import NetSpec, PolicyValueNet

    net = PolicyValueNet(NetSpec("square8", 2, "small")).eval()
    states = positions("square8", 2, 256)
    obs = encode(states)
    with torch.no_grad():
        ref_logits, ref_values = (t.numpy() for t in net(torch.from_numpy(obs)))
    gpu = Inference(net, backend="torch", device="cuda")
    logits, values = gpu(obs)
    out = {"positions": len(states),
           "bf16_max_value_diff": float(np.abs(values - ref_values).max()),
           "bf16_policy_top1_agreement": float((logits.argmax(1) == ref_logits.argmax(1)).mean())}
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29533")
    dist.init_process_group("nccl", rank=0, world_size=1)
    x = torch.ones(1024, device="cuda")
    dist.all_reduce(x)
    out["nccl_all_reduce_ok"] = bool(x.sum().item() == 1024)
    dist.destroy_process_group()
    return out


def positions(board: str, players: int, count: int, seed: int = 0) -> list:
    """``count`` positions of uniform-random games (every position of each game in turn)."""
    import numpy as np

    from ringrift_ray.game import apply_record, is_terminal, legal_move_records, new_game

    rng, out = np.random.default_rng(seed), []
    while len(out) < count:
        state = new_game(board, players)
        while not is_terminal(state) and len(out) < count:
            out.append(state)
            records = legal_move_records(state)
            state = apply_record(state, records[rng.integers(len(records))])
    return out


class GpuSampler(threading.Thread):
    """Samples GPU utilization (%) and memory (MiB) every ``every_s`` seconds."""

    def __init__(self, every_s: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.every_s, self.samples, self.stop = every_s, [], threading.Event()

    def _read(self) -> tuple[float, float] | None:
        try:
            import pynvml

            pynvml.nvmlInit()
            h = pynvml.nvmlDeviceGetHandleByIndex(0)
            return (float(pynvml.nvmlDeviceGetUtilizationRates(h).gpu),
                    pynvml.nvmlDeviceGetMemoryInfo(h).used / 2**20)
        except Exception:  # no nvidia-ml-py: nvidia-smi, if present
            if shutil.which("nvidia-smi") is None:
                return None
            line = subprocess.run(
                ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used",
                 "--format=csv,noheader,nounits"], capture_output=True, text=True).stdout
            util, mem = line.splitlines()[0].split(",")
            return float(util), float(mem)

    def run(self) -> None:
        while not self.stop.wait(self.every_s):
            got = self._read()
            if got is not None:
                self.samples.append(got)

    def summary(self) -> dict:
        if not self.samples:
            return {"gpu_util_samples": 0}
        util = [u for u, _ in self.samples]
        return {"gpu_util_samples": len(util), "gpu_util_mean": round(sum(util) / len(util), 1),
                "gpu_util_max": max(util), "gpu_mem_max_mib": round(max(m for _, m in
                                                                       self.samples))}


def main_job(seconds: float, timeout: float) -> dict:
    """The main job on the GPU config for ``seconds``; its summary and rates."""
    run_dir = Path(tempfile.mkdtemp(prefix="gpu_suite_"))
    sampler = GpuSampler()
    sampler.start()
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "experiments.alphazero", "--config", str(GPU_CONFIG),
             "--run-dir", str(run_dir / "run"), "--time-budget", str(seconds),
             "--set", "eval.final_timeout_s=30"],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s", **sampler.summary()}
    finally:
        sampler.stop.set()
    wall = time.perf_counter() - t0
    summary_path = run_dir / "run" / "summary.json"
    if proc.returncode != 0 or not summary_path.exists():
        return {"error": (proc.stderr or proc.stdout)[-3000:], "exit": proc.returncode}
    s = json.loads(summary_path.read_text())
    return {"exit": proc.returncode, "wall_s": round(wall, 1), "budget_s": seconds,
            "games": s["games"], "games_per_s": round(s["games"] / seconds, 2),
            "samples_generated": s["samples"]["generated"],
            "samples_per_s": round(s["samples"]["generated"] / seconds, 1),
            "train_step": s["train_step"], "samples_lost": s["samples"]["lost"],
            "evaluated": s.get("evaluated"), "error": s["error"], **sampler.summary()}


def check_gpu_config() -> dict:
    """The GPU config loads and fits one `GPU_NODE` (the CPU fallback's main-job part)."""
    from experiments.ops.resources import bundles, shortfall
    from ringrift_ray.config import AlphaZeroConfig, load_yaml

    cfg = load_yaml(GPU_CONFIG, AlphaZeroConfig)
    why = shortfall(cfg, [GPU_NODE])
    return {"skipped": "no CUDA: the GPU config is checked, not run", "config": str(GPU_CONFIG),
            "fits_one_gpu_node": why is None, "shortfall": why,
            "bundles": {k: [n, r] for k, (n, r) in bundles(cfg).items()}}


def _search_cmd(device: str, batch: int, preset: str, sims: int) -> list[str]:
    return [sys.executable, str(HERE / "bench_search.py"), "--presets", preset, "--batches",
            str(batch), "--sims", str(sims), "--device", device]


def _selfplay_cmd(device: str, board: str, preset: str, sims: int, slots: int,
                  seconds: float) -> list[str]:
    return [sys.executable, str(HERE / "bench_selfplay.py"), "--board", board, "--preset",
            preset, "--sims", str(sims), "--games", str(slots), "--seconds", str(seconds),
            "--device", device]


def parallel(cmds: list[list[str]], timeout: float) -> list[dict]:
    """Run ``cmds`` at once (N selfplay processes sharing the GPU); one result each."""
    results: list[dict] = [{} for _ in cmds]
    threads = [threading.Thread(target=lambda i=i, c=c: results.__setitem__(i, child(c, timeout)))
               for i, c in enumerate(cmds)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def selfplay_part(gpu: bool, processes: int) -> dict:
    """Selfplay throughput: one process per board, then N square8 processes at once."""
    device = "cuda" if gpu else "cpu"
    plan = ({"square8": ("compact", 16, 512, 15.0), "square19": ("medium", 32, 256, 20.0)}
            if gpu else {"square8": ("tiny", 4, 4, 1.0)})
    out = {board: child(_selfplay_cmd(device, board, *p), timeout=p[3] * 3 + 90)
           for board, p in plan.items()}
    preset, sims, slots, seconds = plan["square8"]
    many = parallel([_selfplay_cmd(device, "square8", preset, sims, slots, seconds)] * processes,
                    timeout=seconds * 3 + 120)
    rates = [r.get("searched_moves_per_s", 0.0) for r in many]
    out[f"square8_{processes}_processes"] = {
        "searched_moves_per_s_total": round(sum(rates), 1),
        "net_evals_per_s_total": round(sum(r.get("net_evals_per_s", 0.0) for r in many), 1),
        "errors": [r["error"] for r in many if "error" in r]}
    return out


def run_suite(args: argparse.Namespace) -> dict:
    """Every part in turn; the JSON the suite prints."""
    t0 = time.perf_counter()
    info = env_info()
    gpu = info["cuda"] and not args.cpu_fallback
    result = {"benchmark": "gpu_suite", "mode": "gpu" if gpu else "cpu_fallback", "env": info}
    if gpu:
        result["cuda_checks"] = child([sys.executable, __file__, "--cuda-checks"], 180)
        result["search"] = child(_search_cmd("cuda", 1024, "small", 16), 180)
    else:
        result["cuda_checks"] = {"skipped": "no CUDA device"}
        result["search"] = child(_search_cmd("cpu", 8, "tiny", 4), 120)
    result["selfplay"] = selfplay_part(gpu, args.processes if gpu else 2)
    result["main_job"] = (main_job(args.job_seconds, args.job_seconds + 240) if gpu
                          else check_gpu_config())
    result["suite_seconds"] = round(time.perf_counter() - t0, 1)
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="also write the JSON here")
    ap.add_argument("--cpu-fallback", action="store_true", help="the CPU fallback even with a GPU")
    ap.add_argument("--job-seconds", type=float, default=150.0,
                    help="the main job's time budget on the GPU")
    ap.add_argument("--processes", type=int, default=4, help="square8 selfplay processes at once")
    ap.add_argument("--cuda-checks", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # the project without an install (the GPU host)
    if args.cuda_checks:  # the child of part 2
        print(json.dumps(cuda_checks()))
        return
    text = json.dumps(run_suite(args), indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
