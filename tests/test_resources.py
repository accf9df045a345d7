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


def test_buffer_and_evaluator_resources_join_the_request():
    c = cfg(**{"run.buffer_resources": {"buffer_node": 1}, "eval.enabled": True,
               "eval.cpus": 0, "run.eval_resources": {"evaluator_node": 1}})
    assert bundles(c)["replay buffer"] == (1, {"buffer_node": 1.0})
    assert bundles(c)["evaluator"] == (1, {"evaluator_node": 1.0})
    assert "replay buffer" not in bundles(cfg()) and "evaluator" not in bundles(cfg())
    assert shortfall(c, [{"CPU": 8.0, "evaluator_node": 1.0}]) == (
        "buffer_node: needs 1, cluster has 0")  # the buffer's node is gone


def test_capacity_watch_waits_for_a_lost_node_then_gives_up(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(resources.time, "monotonic", lambda: clock[0])
    pinned = cfg(**{"run.train_resources": {"trainer_node": 1}})
    full, lost = [{"CPU": 2.0, "trainer_node": 4.0}], [{"CPU": 2.0}]
    nodes = [full]
    monkeypatch.setattr(resources, "cluster_nodes", lambda: nodes[0])
    watch = resources.CapacityWatch(pinned, timeout_s=30)
    assert watch.check() is None
    nodes[0] = lost
    clock[0] += 1  # checked at most every EVERY_S seconds
    assert watch.check() is None and watch.short_since is None
    clock[0] += 5
    assert watch.check() is None and watch.short_since == 106.0  # short: the wait starts
    nodes[0] = full  # a replacement joined: the wait ends
    clock[0] += 20
    assert watch.check() is None and watch.short_since is None
    nodes[0] = lost
    for _ in range(6):
        clock[0] += 5
        assert watch.check() is None  # short for 0, 5, ... 25 s
    clock[0] += 5
    error = watch.check()  # short for 30 s
    assert isinstance(error, ResourcesUnavailable)
    assert str(error).startswith("capacity lost for 30 s (run.startup_timeout_s = 30): the "
                                 "cluster cannot run this job (trainer_node: needs 1, cluster "
                                 "has 0)")
    assert str(error).endswith("re-run the same command once the cluster has the capacity")
