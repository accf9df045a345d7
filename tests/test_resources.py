"""The main job's resource request and the feasibility check (no Ray needed)."""

import pytest

from experiments.ops import resources
from experiments.ops.resources import ResourcesUnavailable, bundles, shortfall, total_request
from experiments.tune.config import PBTExperimentConfig
from ringrift_ray.config import AlphaZeroConfig, with_overrides


def cfg(**over):
    return with_overrides(AlphaZeroConfig(), {"eval.enabled": False, **over})


def test_request_sums_selfplay_and_train_workers():
    c = cfg(**{"run.selfplay_workers": 2, "run.selfplay_cpus_per_worker": 0.5,
               "run.train_workers": 2, "run.train_resources": {"trainer_node": 1}})
    assert total_request(c) == {"CPU": 3.0, "trainer_node": 2.0}
    gpu = cfg(**{"run.use_gpu": True, "run.selfplay_workers": 4, "run.train_workers": 2})
    assert total_request(gpu)["GPU"] == pytest.approx(4 * 0.25 + 2)
    assert bundles(cfg(**{"eval.enabled": True, "eval.cpus": 1}))["evaluator"] == (
        1, {"CPU": 1.0})
    assert bundles(cfg(**{"eval.enabled": True, "eval.cpus": 1, "eval.gpus": 0.25}))[
        "evaluator"] == (1, {"CPU": 1.0, "GPU": 0.25})


def test_shortfall_names_the_missing_resource_and_the_bundle_that_fits_nowhere():
    two = cfg(**{"run.selfplay_workers": 1, "run.train_workers": 2})  # 3 CPUs
    assert "CPU: needs 3, cluster has 2" in shortfall(two, [{"CPU": 2.0}])
    assert shortfall(two, [{"CPU": 2.0}, {"CPU": 2.0}]) is None
    pinned = cfg(**{"run.train_resources": {"trainer_node": 1}})
    assert "trainer_node" in shortfall(pinned, [{"CPU": 4.0}])
    split = [{"CPU": 2.0, "trainer_node": 1.0}, {"CPU": 0.0, "selfplay_node": 1.0}]
    assert "no node can hold one selfplay actor" in shortfall(
        cfg(**{"run.selfplay_resources": {"selfplay_node": 1}}), split)


def test_pbt_requests_selfplay_and_every_member_and_names_them_when_short(monkeypatch):
    pbt = with_overrides(PBTExperimentConfig(), {
        "run.selfplay_workers": 2, "run.selfplay_cpus_per_worker": 1.0,
        "pbt.population": 4, "pbt.member_cpus": 1.0, "pbt.member_gpus": 0.5})
    assert bundles(pbt) == {"selfplay actor": (2, {"CPU": 1.0}),
                            "population member": (4, {"CPU": 1.0, "GPU": 0.5})}
    assert total_request(pbt) == {"CPU": 6.0, "GPU": 2.0}  # no train workers, no evaluator
    assert shortfall(pbt, [{"CPU": 8.0, "GPU": 2.0}]) is None
    assert "no node can hold one population member" in shortfall(
        pbt, [{"CPU": 8.0, "GPU": 0.25}] * 8)
    monkeypatch.setattr(resources, "cluster_nodes", lambda: [{"CPU": 4.0, "GPU": 2.0}])
    with pytest.raises(ResourcesUnavailable) as e:
        resources.wait_for_resources(pbt, 0.0)
    assert str(e.value) == (
        "the cluster cannot run this job (CPU: needs 6, cluster has 4). Request: 2 x selfplay "
        "actor {'CPU': 1.0}, 4 x population member {'CPU': 1.0, 'GPU': 0.5}. Cluster: 1 "
        "node(s), {'CPU': 4.0, 'GPU': 2.0}")
