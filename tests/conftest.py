import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/reference.py, tests/replay.py helpers
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "token")  # token auth in every test (Ray reads it once)


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", default=False,
                     help="run exhaustive checks (every reference trace game on big boards)")


# Modules whose tests start Ray, jobs or many processes: `make test` runs them one at a time
# (they use both cores and have time budgets); the rest runs on two pytest-xdist workers.
RAY_MODULES = {"test_actors", "test_alphazero", "test_faults", "test_gpu_suite", "test_node_loss",
               "test_pbt", "test_serve", "test_storage", "test_tune_search"}


def pytest_configure(config):
    config.addinivalue_line("markers", "full: exhaustive; runs only with --full")
    config.addinivalue_line("markers", "ray: starts Ray or jobs; `make test` runs these serially")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__ in RAY_MODULES or "ray_session" in item.fixturenames:
            item.add_marker(pytest.mark.ray)
    if config.getoption("--full"):
        return
    skip = pytest.mark.skip(reason="exhaustive check; run with --full (make full-test)")
    for item in items:
        if "full" in item.keywords:
            item.add_marker(skip)


RAY_SESSION: dict[str, str] = {}  # address (GCS) and dashboard URL of `ray_session`


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray (2 CPUs, with the dashboard for the State API) shared by every Ray
    test of the session; ``ray_session.address`` is its GCS address (for subprocess jobs).

    Ray's files go to a fresh temporary RAY_TMPDIR (short: socket paths are length-limited),
    removed after `ray.shutdown()`; never `ray stop` (it kills every Ray on the machine).
    """
    import ray

    tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    os.environ["RAY_TMPDIR"] = tmp
    from experiments.ops.local_cluster import free_port

    context = ray.init(num_cpus=2, include_dashboard=True, dashboard_port=free_port(),
                       _temp_dir=tmp)
    RAY_SESSION.update(address=context.address_info["gcs_address"],
                       dashboard=f"http://{context.dashboard_url}")
    yield ray
    ray.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
