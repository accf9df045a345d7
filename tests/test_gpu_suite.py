"""benchmarks/gpu_suite.py, the GPU check in one command: its CPU fallback end to end (what
CI can run), and the one-node GPU config it runs on a GPU host."""

import json
import subprocess
import sys
from pathlib import Path

from experiments.ops.resources import bundles, shortfall
from ringrift_ray.config import AlphaZeroConfig, load_yaml

ROOT = Path(__file__).resolve().parents[1]
GPU_CONFIG = ROOT / "experiments" / "configs" / "gpu" / "square8_2p.yaml"


def test_cpu_fallback_runs_every_part_and_skips_only_the_cuda_ones(tmp_path):
    out = tmp_path / "suite.json"
    proc = subprocess.run([sys.executable, "benchmarks/gpu_suite.py", "--cpu-fallback",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(out.read_text())
    assert got["mode"] == "cpu_fallback" and got["env"]["ray"] and got["env"]["torch"]
    assert "skipped" in got["cuda_checks"]
    assert got["search"]["results"][0]["efficiency"] > 0, got["search"]
    assert got["selfplay"]["square8"]["searched_moves_per_s"] > 0, got["selfplay"]
    parallel = got["selfplay"]["square8_2_processes"]
    assert parallel["errors"] == [] and parallel["searched_moves_per_s_total"] > 0
    assert got["main_job"]["fits_one_gpu_node"] is True, got["main_job"]


def test_gpu_config_shares_one_gpu_between_selfplay_trainer_and_evaluator():
    cfg = load_yaml(GPU_CONFIG, AlphaZeroConfig)
    assert cfg.run.use_gpu and cfg.selfplay.games_per_batch >= 256
    gpu = {what: n * res.get("GPU", 0.0) for what, (n, res) in bundles(cfg).items()}
    assert all(v > 0 for v in gpu.values()) and abs(sum(gpu.values()) - 1.0) < 1e-9, gpu
    assert shortfall(cfg, [{"CPU": 16.0, "GPU": 1.0}]) is None
    assert "GPU" in shortfall(cfg, [{"CPU": 16.0, "GPU": 0.5}])
