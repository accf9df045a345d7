"""The KubeRay manifests (`deploy/kuberay/`) checked offline, never applied to a cluster.

Each manifest passes the `v1` openAPIV3Schema of KubeRay v1.7.0's CRD
(``../shared/reference/kuberay/``) made strict the way ``kubectl apply`` validates by default
(an unknown field is an error); its CEL rules (``x-kubernetes-validations``), which jsonschema
cannot run, guard no field the manifests set. The rules KubeRay's operator adds (token auth
needs ``rayVersion`` >= 2.52.0; custom resources in ``rayStartParams`` or the group's
``resources``, not both; name lengths) are checked by hand. A job's entrypoint names a module,
flags its argparse knows and a config that loads, and the cluster's worker groups, read the way
Ray's own KubeRay autoscaler reads them, hold what that config asks for
(`experiments.ops.resources.shortfall`), even when Ray places the bundles pinned to no node type
(the evaluator, PBT members) on the nodes of a pinned one.
"""

import ast
import copy
import functools
import re
import shlex
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml
from ray.autoscaler._private.kuberay.autoscaling_config import (
    _derive_autoscaling_config_from_ray_cr,
)
from ray.autoscaler._private.kuberay.utils import parse_quantity
from reference import REFERENCE

from experiments.ops.resources import bundles, shortfall
from experiments.tune.config import PBTExperimentConfig
from ringrift_ray.config import AlphaZeroConfig, load_yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "kuberay"
CRDS = REFERENCE / "kuberay"
MANIFESTS = {"raycluster.yaml": "RayCluster", "rayjob.yaml": "RayJob",
             "rayjob_pbt.yaml": "RayJob"}
JOBS = {"rayjob.yaml": ("experiments.alphazero", AlphaZeroConfig),
        "rayjob_pbt.yaml": ("experiments.pbt", PBTExperimentConfig)}
CLUSTER_CONFIGS = sorted((ROOT / "experiments" / "configs" / "cluster").glob("*.yaml"))
MAX_NAME = {"RayCluster": 53, "RayJob": 47}  # KubeRay: the cluster's name gets suffixes
HEAD = "headgroup"  # the head's node type in Ray's autoscaling config
STANDARD = {"CPU", "GPU", "memory"}


@functools.cache
def crd_schema(kind: str) -> dict:
    """The `v1` openAPIV3Schema of KubeRay's CRD for ``kind`` (parsed once)."""
    text = (CRDS / f"ray.io_{kind.lower()}s.yaml").read_text()  # ~1 MB: libyaml if built in
    crd = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    (v1,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return v1["schema"]["openAPIV3Schema"]


def strict(node):
    """A structural OpenAPI schema as JSON Schema under strict field validation: an object
    that lists ``properties`` (and is no map, no ``additionalProperties``) admits no other
    field; ``nullable`` admits null; the ``x-kubernetes-*`` extensions are dropped."""
    if isinstance(node, list):
        return [strict(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if "properties" in node and "additionalProperties" not in node \
            and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if node.get("nullable"):
        out["type"] = [node["type"], "null"]
    return out


@functools.cache
def validator(kind: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(strict(crd_schema(kind)))


def schema_errors(doc: dict) -> list[str]:
    """Where and why ``doc`` fails its kind's strict CRD schema (empty: it passes)."""
    errors = validator(doc["kind"]).iter_errors(doc)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def cel_fields(instance, schema: dict, path: str = "") -> list[str]:
    """Paths in ``instance`` whose schema carries CEL rules (not checked by jsonschema)."""
    out = [path] if "x-kubernetes-validations" in schema else []
    if isinstance(instance, dict):
        for key, value in instance.items():
            sub = schema.get("properties", {}).get(key, schema.get("additionalProperties"))
            if isinstance(sub, dict):
                out += cel_fields(value, sub, f"{path}.{key}")
    elif isinstance(instance, list) and "items" in schema:
        out += [p for i, v in enumerate(instance)
                for p in cel_fields(v, schema["items"], f"{path}[{i}]")]
    return out


@functools.cache
def _documents(name: str) -> tuple[dict, ...]:
    return tuple(yaml.safe_load_all((DEPLOY / name).read_text()))


def document(name: str, kind: str | None = None) -> dict:
    """A fresh copy of the one document of ``kind`` (default: the manifest's Ray kind)."""
    (doc,) = [d for d in _documents(name) if d["kind"] == (kind or MANIFESTS[name])]
    return copy.deepcopy(doc)


def cluster_spec(doc: dict) -> dict:
    return doc["spec"] if doc["kind"] == "RayCluster" else doc["spec"]["rayClusterSpec"]


def ray_nodes(doc: dict) -> list[dict[str, float]]:
    """Every Ray node's resources, each worker group at maxReplicas, as Ray's KubeRay
    autoscaler derives them from the RayCluster (rayStartParams, else container limits)."""
    cr = {"metadata": {"name": doc["metadata"]["name"], "namespace": "default"},
          "spec": copy.deepcopy(cluster_spec(doc))}
    types = _derive_autoscaling_config_from_ray_cr(cr)["available_node_types"]
    assert HEAD in types
    return [dict(t["resources"]) for key, t in types.items()
            for _ in range(1 if key == HEAD else t["max_workers"])]


def unpinned_shortfall(cfg: AlphaZeroConfig, nodes: list[dict[str, float]]) -> str | None:
    """Why the nodes offering a custom resource cannot hold the bundles pinned to it plus
    every bundle pinned to none (Ray may place those anywhere), or None."""
    asks = bundles(cfg).values()
    for resource in {r for _, res in asks for r in res} - STANDARD:
        have = Counter()
        for node in (n for n in nodes if n.get(resource, 0) > 0):
            have.update({k: node.get(k, 0) for k in ("CPU", "GPU")})
        need = Counter()
        for n, res in asks:
            if resource in res or not set(res) - STANDARD:
                need.update({k: n * res.get(k, 0) for k in ("CPU", "GPU")})
        short = [k for k in need if need[k] > have[k] + 1e-9]
        if short:
            return f"{resource} nodes: need {dict(need)}, have {dict(have)}"
    return None


def entrypoint(doc: dict) -> tuple[str, dict[str, str]]:
    """``python -m MODULE --flag value ...`` -> (MODULE, {flag: value})."""
    argv = shlex.split(doc["spec"]["entrypoint"])
    assert argv[:2] == ["python", "-m"] and len(argv) % 2 == 1, argv
    return argv[2], dict(zip(argv[3::2], argv[4::2], strict=True))


def cli_options(module: str) -> set[str]:
    """The option strings of every ``add_argument`` call in ``module``'s source."""
    tree = ast.parse((ROOT / f"{module.replace('.', '/')}.py").read_text())
    return {a.value for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, "attr", "") == "add_argument"
            for a in n.args if isinstance(a, ast.Constant)}


def job_config(name: str) -> AlphaZeroConfig:
    _, model = JOBS[name]
    return load_yaml(ROOT / entrypoint(document(name))[1]["--config"], model)


def containers(spec: dict) -> list[dict]:
    groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
    return [g["template"]["spec"]["containers"][0] for g in groups]


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_passes_the_crd_schema(name):
    doc = document(name)
    assert (doc["apiVersion"], doc["kind"]) == ("ray.io/v1", MANIFESTS[name])
    assert schema_errors(doc) == []
    assert cel_fields(doc, crd_schema(doc["kind"])) == []
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"])
    assert len(doc["metadata"]["name"]) <= MAX_NAME[doc["kind"]]


BREAKS = {
    "replicas as a string": lambda s: s["workerGroupSpecs"][0].update(replicas="two"),
    "unknown field in a container": lambda s: containers(s)[0].update(resource={}),
    "unknown spec field": lambda s: s.update(workerGroups=[]),
    "auth mode off the enum": lambda s: s["authOptions"].update(mode="on"),
    "no maxReplicas": lambda s: s["workerGroupSpecs"][0].pop("maxReplicas"),
    "a CPU quantity that is no quantity": lambda s: containers(s)[1]["resources"]["limits"]
    .update(cpu="eight"),
}


@pytest.mark.parametrize("name", MANIFESTS)
@pytest.mark.parametrize("why", BREAKS)
def test_schema_check_can_fail(name, why):
    doc = document(name)
    BREAKS[why](cluster_spec(doc))
    assert schema_errors(doc), why


def test_schema_check_rejects_a_misspelt_rayjob_field():
    doc = document("rayjob.yaml")
    doc["spec"]["shutdownAfterJobFinish"] = doc["spec"].pop("shutdownAfterJobFinishes")
    assert any("shutdownAfterJobFinish" in e for e in schema_errors(doc))


def test_cel_field_check_can_fail():
    doc = document("rayjob.yaml")
    cluster_spec(doc)["managedBy"] = "ray.io/kuberay-operator"  # a field with CEL rules
    assert schema_errors(doc) == []  # jsonschema cannot tell ...
    assert cel_fields(doc, crd_schema("RayJob")) == [".spec.rayClusterSpec.managedBy"]


@pytest.mark.parametrize("name", MANIFESTS)
def test_cluster_shape(name):
    spec = cluster_spec(document(name))
    ray_pin = re.search(r"^ray==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M)[1]
    assert spec["rayVersion"] == ray_pin  # the image's Ray
    assert tuple(map(int, ray_pin.split("."))) >= (2, 52, 0)  # what token auth needs
    assert spec["authOptions"] == {"mode": "token", "secretName": "ringrift-ray-auth"}
    assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"  # no tasks on the head
    assert not spec["headGroupSpec"].get("resources")  # one way: rayStartParams
    assert f"rayproject/ray:{ray_pin}-py311" in (DEPLOY / "raycluster.yaml").read_text()
    for c in containers(spec):
        assert c["image"] == "ghcr.io/YOUR_ORG/ringrift-ray:latest"
        assert c["resources"]["requests"] == c["resources"]["limits"]
        assert not any(e["name"].startswith("RAY_AUTH") for e in c.get("env", []))
    groups = spec["workerGroupSpecs"]
    assert len({g["groupName"] for g in groups}) == len(groups)
    for g in groups:
        assert 0 <= g["minReplicas"] <= g["replicas"] <= g["maxReplicas"], g["groupName"]
        assert g.get("numOfHosts", 1) == 1 and not g.get("resources")  # one way: rayStartParams
        params, limits = g["rayStartParams"], g["template"]["spec"]["containers"][0][
            "resources"]["limits"]
        assert parse_quantity(limits["cpu"]) == int(params["num-cpus"]), g["groupName"]
        assert params.get("num-gpus") == limits.get("nvidia.com/gpu"), g["groupName"]


@pytest.mark.parametrize("path", CLUSTER_CONFIGS, ids=lambda p: p.name)
def test_raycluster_holds_every_cluster_job_config(path):
    cfg = load_yaml(path, AlphaZeroConfig)
    nodes = ray_nodes(document("raycluster.yaml"))
    assert shortfall(cfg, nodes) is None
    assert unpinned_shortfall(cfg, nodes) is None


@pytest.mark.parametrize("name", JOBS)
def test_rayjob_cluster_holds_its_job_at_a_fixed_size(name):
    doc = document(name)
    for g in cluster_spec(doc)["workerGroupSpecs"]:
        assert g["minReplicas"] == g["replicas"] == g["maxReplicas"] >= 1, g["groupName"]
    assert not cluster_spec(doc).get("enableInTreeAutoscaling")
    cfg, nodes = job_config(name), ray_nodes(doc)
    assert shortfall(cfg, nodes) is None
    assert unpinned_shortfall(cfg, nodes) is None


def test_resource_checks_can_fail():
    doc = document("rayjob.yaml")
    selfplay = cluster_spec(doc)["workerGroupSpecs"][0]
    cfg = job_config("rayjob.yaml")
    selfplay["replicas"] = selfplay["minReplicas"] = selfplay["maxReplicas"] = 4
    assert shortfall(cfg, ray_nodes(doc)) is None  # 32 slots: the totals fit ...
    assert "selfplay_node" in unpinned_shortfall(cfg, ray_nodes(doc))  # ... not the evaluator
    selfplay["replicas"] = selfplay["minReplicas"] = selfplay["maxReplicas"] = 3
    assert "selfplay_node" in shortfall(cfg, ray_nodes(doc))
    selfplay["replicas"] = selfplay["minReplicas"] = selfplay["maxReplicas"] = 4
    selfplay["rayStartParams"]["resources"] = '"{\\"selfplay_node\\": 7}"'
    assert "selfplay_node" in shortfall(cfg, ray_nodes(doc))


@pytest.mark.parametrize("name", JOBS)
def test_rayjob_runs_its_job(name):
    doc = document(name)
    module, flags = entrypoint(doc)
    assert module == JOBS[name][0]
    assert set(flags) <= cli_options(module), flags
    cfg = job_config(name)  # the config exists and loads with the job's model
    spec, run = doc["spec"], cfg.run
    assert spec["shutdownAfterJobFinishes"] is True and spec["ttlSecondsAfterFinished"] > 0
    env = yaml.safe_load(spec["runtimeEnvYAML"])
    dockerfile = (DEPLOY / "raycluster.yaml").read_text()
    assert f"WORKDIR {env['working_dir']}\n" in dockerfile  # the project's copy in the image
    stop_wait = env["env_vars"]["RAY_JOB_STOP_WAIT_TIME_S"]  # the last step, then the drain
    assert isinstance(stop_wait, str) and int(stop_wait) >= run.shutdown_grace_s + 30
    final_eval = cfg.eval.final_timeout_s + 30 if module == "experiments.alphazero" else 0
    ends_by = run.startup_timeout_s + run.time_budget_s + run.shutdown_grace_s + final_eval
    assert spec["activeDeadlineSeconds"] > ends_by


def test_cli_option_check_can_fail():
    assert {"--config", "--run-dir"} <= cli_options("experiments.alphazero")
    assert "--rundir" not in cli_options("experiments.alphazero")


def test_main_job_writes_to_object_storage():
    run_dir = entrypoint(document("rayjob.yaml"))[1]["--run-dir"]
    assert run_dir.startswith("s3://"), run_dir  # no node's disk outlives the cluster


def test_pbt_run_directory_is_a_volume_every_pod_mounts():
    doc = document("rayjob_pbt.yaml")
    claim = document("rayjob_pbt.yaml", "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # pods on several nodes
    run_dir = Path(entrypoint(doc)[1]["--run-dir"])
    assert run_dir.is_absolute()  # PBT takes local run directories only
    spec = cluster_spec(doc)
    for group in [spec["headGroupSpec"], *spec["workerGroupSpecs"]]:
        pod = group["template"]["spec"]
        volumes = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
        mounts = [m for m in pod["containers"][0]["volumeMounts"]
                  if volumes.get(m["name"]) == claim["metadata"]["name"]]
        assert any(run_dir.is_relative_to(m["mountPath"]) for m in mounts), group
