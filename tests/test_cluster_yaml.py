"""`cluster.yaml` passes Ray's own launcher schema offline, and every cluster job config
fits the largest cluster it describes (`experiments.ops.resources.shortfall`)."""

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

from experiments.ops.resources import shortfall
from ringrift_ray.config import AlphaZeroConfig, load_yaml

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = yaml.safe_load((ROOT / "cluster.yaml").read_text())
JOB_CONFIGS = sorted((ROOT / "experiments" / "configs" / "cluster").glob("*.yaml"))


def test_cluster_yaml_passes_the_launcher_schema():
    validate_config(prepare_config(copy.deepcopy(CLUSTER)))
    bad = copy.deepcopy(CLUSTER)
    bad["available_node_types"]["head"]["min_worker"] = 1  # a typo: unknown key
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(bad))


def test_cluster_yaml_shape():
    types = CLUSTER["available_node_types"]
    assert types[CLUSTER["head_node_type"]]["resources"] == {"CPU": 0}  # the head runs no tasks
    assert types["cpu_selfplay"]["node_config"]["InstanceMarketOptions"]["MarketType"] == "spot"
    assert types["gpu_trainer"]["resources"]["GPU"] >= 1
    starts = CLUSTER["head_start_ray_commands"] + CLUSTER["worker_start_ray_commands"]
    assert all("RAY_AUTH_MODE=token" in c for c in starts if "ray start" in c)
    assert not any("disabled" in c for c in starts)
    assert any("constraints.txt" in c for c in CLUSTER["setup_commands"])


def _largest_cluster() -> list[dict[str, float]]:
    nodes = []
    for name, t in CLUSTER["available_node_types"].items():
        count = 1 if name == CLUSTER["head_node_type"] else t["max_workers"]
        nodes += [dict(t["resources"])] * count
    return nodes


@pytest.mark.parametrize("path", JOB_CONFIGS, ids=lambda p: p.name)
def test_cluster_job_configs_load_and_fit_the_cluster(path):
    cfg = load_yaml(path, AlphaZeroConfig)
    assert cfg.run.use_gpu  # nccl trainers
    assert shortfall(cfg, _largest_cluster()) is None


def test_there_are_cluster_job_configs():
    assert {p.name for p in JOB_CONFIGS} >= {"square8_2p.yaml", "square19_2p.yaml"}
