"""`ringrift_ray.storage` and the run directory as a URI: every file operation, checkpoints,
Parquet shards (with quarantine), the league table and TensorBoard uploads on a local path,
``file://`` and ``s3://`` (moto's S3 server on localhost, reached through pyarrow's
``endpoint_override``); then the main job's smoke run with ``--run-dir s3://...`` (with a
resume on S3). The main job on a ``file://`` run directory is the resumed run of
tests/test_alphazero.py."""

import copy
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from sample_data import make_batch

from ringrift_ray import storage
from ringrift_ray.eval import league
from ringrift_ray.net import NetSpec, PolicyValueNet, load_checkpoint, save_checkpoint
from ringrift_ray.replay import shards

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "ringrift-test"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}


MOTO: dict = {}  # "server": the module's running ThreadedMotoServer (an outage restarts it)


@pytest.fixture(scope="module")
def s3_endpoint():
    """``host:port`` of a moto S3 server (its own thread) holding bucket `BUCKET`; AWS test
    credentials in the environment meanwhile. Its objects live in this process, so a
    server stopped and started again on the same port still has them."""
    server = pytest.importorskip(
        "moto.server", reason="moto[server] not installed (pip install -e '.[dev]')")
    import boto3

    with pytest.MonkeyPatch.context() as mp:
        for k, v in AWS_ENV.items():
            mp.setenv(k, v)
        MOTO["server"] = server.ThreadedMotoServer(ip_address="127.0.0.1", port=0,
                                                   verbose=False)
        MOTO["server"].start()
        host, port = MOTO["server"].get_host_and_port()
        boto3.client("s3", endpoint_url=f"http://{host}:{port}",
                     region_name="us-east-1").create_bucket(Bucket=BUCKET)
        try:
            yield f"{host}:{port}"
        finally:
            MOTO["server"].stop()


@contextmanager
def _outage() -> Iterator[None]:
    """The moto server stopped (connections refused) meanwhile, then started again on its
    port (its objects live in this process: nothing is lost)."""
    from moto import server

    host, port = MOTO["server"].get_host_and_port()
    MOTO["server"].stop()
    try:
        yield
    finally:
        MOTO["server"] = server.ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        MOTO["server"].start()


def s3_uri(endpoint: str, path: str) -> str:
    return f"s3://{BUCKET}/{path}?endpoint_override={endpoint}&scheme=http"


@pytest.fixture(params=["path", "file", "s3"])
def location(request, tmp_path):
    """A fresh run directory: a plain path, a ``file://`` URI or an ``s3://`` URI."""
    if request.param == "path":
        return tmp_path / "run"
    if request.param == "file":
        return f"file://{tmp_path}/run"
    return s3_uri(request.getfixturevalue("s3_endpoint"), f"{uuid.uuid4().hex}/run")


def test_join_and_split_keep_the_form_of_the_location():
    uri = "s3://bucket/run?endpoint_override=127.0.0.1:9000&scheme=http"
    ckpt = storage.join(uri, "checkpoints", "latest.pt")
    assert ckpt == ("s3://bucket/run/checkpoints/latest.pt"
                    "?endpoint_override=127.0.0.1:9000&scheme=http")
    assert storage.split(ckpt) == (storage.join(uri, "checkpoints"), "latest.pt")
    assert storage.basename(uri) == "run"
    assert storage.join("file:///data/run", "a") == "file:///data/run/a"
    assert storage.join(Path("runs/x"), "a", "b") == Path("runs/x/a/b")
    assert storage.split("runs/x/a") == (Path("runs/x"), "a")
    assert not storage.is_uri("runs/x") and storage.is_uri("gs://b/x")
    fs, path = storage.resolve(storage.join(uri, "replay", "s.parquet"))
    assert type(fs).__name__ == "S3FileSystem" and path == "bucket/run/replay/s.parquet"
    assert storage.resolve("file:///data/run")[1] == "/data/run"


def test_a_patient_s3_client_writes_through_a_short_outage(s3_endpoint):
    """`storage.patient`'s client (Ray Train's) retries a refused request with backoff: a
    write started while the store is down lands once it is back; the plain client gives up
    at once. Local locations come back as `resolve` gives them."""
    uri = s3_uri(s3_endpoint, f"{uuid.uuid4().hex}/patient.json")
    fs, path = storage.patient(uri, outage_s=60)
    fs = copy.deepcopy(fs)  # rebuilt from its __reduce__, as when Ray pickles it to an actor
    plain, _ = storage.resolve(uri)
    done = {}

    def write() -> None:
        with fs.open_output_stream(path) as f:
            f.write(b"{}")
        done["at"] = time.monotonic()

    with _outage():
        with pytest.raises(OSError):
            with plain.open_output_stream(path) as f:
                f.write(b"{}")
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(3)
        back = time.monotonic()
    writer.join(timeout=60)
    assert done.get("at", 0) > back and storage.read_text(uri) == "{}"
    assert storage.patient("runs/x", 60) == storage.resolve("runs/x")


def test_a_bad_uri_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="nosuch://bucket/run"):
        storage.resolve("nosuch://bucket/run")


def test_an_unusable_store_is_an_os_error_naming_the_run_directory(s3_endpoint):
    missing = s3_uri(s3_endpoint, "run").replace(BUCKET, "no-such-bucket")
    with pytest.raises(OSError, match="cannot write to the run directory s3://no-such-bucket"):
        storage.check_writable(missing)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(OSError, match=r"cannot write to the run directory s3://.*connect"):
        storage.check_writable(s3_uri(f"127.0.0.1:{closed}", "run"))


def test_files(location):
    storage.check_writable(location)
    a = storage.join(location, "sub", "a.txt")
    assert not storage.exists(a)
    with pytest.raises(FileNotFoundError, match="a.txt"):
        storage.read_bytes(a)
    storage.write_text(a, "one")
    storage.write_text(a, "two")  # replaced
    assert storage.read_text(a) == "two" and storage.is_file(a)
    assert storage.is_dir(storage.join(location, "sub")) and not storage.is_file(location)
    storage.copy(a, storage.join(location, "sub", "b.txt"))
    storage.move(storage.join(location, "sub", "b.txt"), storage.join(location, "c", "b.txt"))
    assert storage.list_files(storage.join(location, "sub")) == ["a.txt"]  # no temporaries
    assert storage.read_text(storage.join(location, "c", "b.txt")) == "two"
    storage.delete(a)
    storage.delete(a)  # gone already: no error
    assert not storage.exists(a)
    with pytest.raises(FileNotFoundError):
        storage.list_files(storage.join(location, "nothing"))


def test_upload_dir_copies_new_and_grown_files(location, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # staging under tmp_path
    staging = storage.staging_dir(location, "tb")
    remote = storage.join(location, "tb")
    (staging / "events.1").write_bytes(b"x")
    if storage.is_local(location):  # written in place, nothing to upload
        assert staging == Path(storage.resolve(remote)[1])
        assert storage.upload_dir(staging, remote) == 0
        return
    assert staging.is_relative_to(tmp_path)
    (staging / "d").mkdir()
    (staging / "d" / "events.2").write_bytes(b"y")
    assert storage.upload_dir(staging, remote) == 2
    (staging / "events.1").write_bytes(b"xx")
    assert storage.upload_dir(staging, remote) == 1
    assert storage.read_bytes(storage.join(remote, "events.1")) == b"xx"
    assert storage.read_bytes(storage.join(remote, "d", "events.2")) == b"y"


def test_checkpoints(location):
    net = PolicyValueNet(NetSpec(board="square8", players=2, preset="tiny"))
    path = storage.join(location, "checkpoints", "latest.pt")
    save_checkpoint(net, path, step=7)
    loaded, extra = load_checkpoint(path, expect=net.spec)
    assert extra == {"step": 7}
    for k, v in net.state_dict().items():
        assert np.array_equal(v.numpy(), loaded.state_dict()[k].numpy())
    storage.write_bytes(path, storage.read_bytes(path)[:-100])  # truncated
    with pytest.raises(ValueError, match="not a readable checkpoint") as e:
        load_checkpoint(path)
    assert str(path) in str(e.value)
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_checkpoint(storage.join(location, "checkpoints", "none.pt"))


def test_shards_and_quarantine(location):
    folder = storage.join(location, "replay")
    first = shards.write_shard(make_batch(5), folder)
    second = shards.write_shard(make_batch(3, first_id=100), folder)
    assert type(first) is type(folder) and first != second
    assert shards.list_shards(folder) == sorted([first, second])
    assert len(shards.read_shards(folder, "square8", 2)) == 8
    bad = storage.join(folder, "square8_2p_99990101T000000.000000000_1_000000.parquet")
    storage.write_bytes(bad, storage.read_bytes(first)[:-50])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        shards.read_shards(folder, on_error="raise")
    assert len(shards.read_shards(folder, "square8", 2, on_error="skip")) == 8
    assert not storage.exists(bad)
    assert storage.list_files(storage.join(folder, shards.QUARANTINE_DIR)) == [
        storage.basename(bad)]


def test_league_table(location):
    path = storage.join(location, "league.json")
    table = league.load_or_new(path, "square8", 2)
    best = league.Best(version=1, name="v1", checkpoint=str(storage.join(location, "c1.pt")))
    table = table.model_copy(update={"best": best})
    league.save_league(table, path)
    assert league.load_league(path) == table
    assert league.load_or_new(path, "square8", 2).best == best


# --- the main job on a URI run directory -------------------------------------------------

def _job(run_dir: str, tmp: Path, *extra: str, env: dict | None = None):
    full = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    ray_tmp = tempfile.mkdtemp(prefix="rr", dir="/tmp")  # AF_UNIX paths must stay short
    full.update(RAY_USAGE_STATS_ENABLED="0", RAY_TMPDIR=ray_tmp, TMPDIR=str(tmp), **(env or {}))
    try:
        out = subprocess.run(
            [sys.executable, "-m", "experiments.alphazero", "--config",
             "experiments/configs/smoke.yaml", "--run-dir", run_dir, *extra],
            cwd=ROOT, env=full, capture_output=True, text=True, timeout=420)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def _tags(run_dir: str, tmp: Path) -> set[str]:
    """Scalar tags of the TensorBoard event files under ``run_dir/tensorboard``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = set()
    folder = storage.join(run_dir, "tensorboard")
    for name in storage.list_files(folder):
        local = tmp / name
        local.write_bytes(storage.read_bytes(storage.join(folder, name)))
        acc = EventAccumulator(str(local))
        acc.Reload()
        tags |= set(acc.Tags()["scalars"])
    return tags


def _assert_artifacts(run_dir: str, tmp: Path, train_step: int) -> dict:
    summary = json.loads(storage.read_text(storage.join(run_dir, "summary.json")))
    assert summary["error"] is None and summary["train_step"] == train_step, summary
    assert summary["eval_error"] is None and summary["evaluated"] >= 1
    assert summary["samples"]["lost"] == 0 and summary["new_shards"]
    assert all(s.startswith(run_dir.split("?")[0]) for s in summary["new_shards"])
    assert storage.is_file(storage.join(run_dir, "config.yaml"))
    checkpoints = storage.list_files(storage.join(run_dir, "checkpoints"))
    assert {"latest.pt", "lowest_loss.pt", "promoted.pt", f"candidate_{train_step}.pt"} <= set(
        checkpoints), checkpoints
    assert shards.list_shards(storage.join(run_dir, "replay"), "square8", 2)
    table = league.load_league(summary["league"])
    assert table.versions[-1].version == train_step
    assert storage.is_dir(storage.join(run_dir, "ray_train"))
    tags = _tags(run_dir, tmp)
    for tag in ("selfplay/games_per_s", "buffer/size", "train/policy_loss", "eval/elo"):
        assert tag in tags, (tag, sorted(tags))  # driver's and trainer's files both uploaded
    # the viewing commands read the run directory where it is
    from ringrift_ray.cli import views
    from ringrift_ray.eval import run_records

    assert "train/policy_loss" in run_records.load_losses(run_dir)
    assert views.elo(run_dir, str(tmp / "elo.png")).versions
    assert (tmp / "elo.png").stat().st_size > 0
    assert views.show_games(run_dir)  # the newest candidate's evaluation games
    return summary


def _wait_for_line(log, job, pattern: str, timeout: float) -> None:
    """Wait until the job's output (``log``, a file it writes) matches ``pattern``.

    Raises:
        AssertionError: the job ended or ``timeout`` passed first (with the output's end).
    """
    deadline = time.monotonic() + timeout
    while True:
        log.seek(0)
        out = log.read()
        if re.search(pattern, out):
            return
        if job.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no {pattern!r} in the job's output: {out[-4000:]}")
        time.sleep(1)


def test_main_job_on_s3_survives_a_store_outage_and_resumes(tmp_path, s3_endpoint):
    """The main job on an s3:// run directory. Once training runs, the object store refuses
    every connection until a flush of the buffer has failed (and 5 s more), while the job
    also checkpoints (every 10 steps) and evaluates: the buffer holds what it received and
    retries with backoff, selfplay workers hold what was not received, a refused checkpoint
    is skipped and an evaluator whose write failed is asked again, and Ray Train's own
    writes (its controller's checkpoint state) retry with backoff; once the store is back
    everything is written and the run ends normally. Then the same command with more
    steps resumes the run from the store and leaves every artifact there (one test, so
    the suite starts the job twice, not four times)."""
    run_dir = s3_uri(s3_endpoint, "runs/outage")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    ray_tmp = tempfile.mkdtemp(prefix="rr", dir="/tmp")
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_TMPDIR=ray_tmp, TMPDIR=str(tmp_path), **AWS_ENV)
    sets = ["run.train_steps=60", "buffer.target_replay_ratio=2", "run.checkpoint_every=10",
            "run.time_budget_s=600", "buffer.flush_every_samples=128", "buffer.flush_every_s=2",
            "buffer.store_outage_s=300", "buffer.capacity=4000"]  # replay ratio 2: training
    # waits for selfplay, so the run outlasts the outage
    cmd = [sys.executable, "-m", "experiments.alphazero", "--config",
           "experiments/configs/smoke.yaml", "--run-dir", run_dir]
    for s in sets:
        cmd += ["--set", s]
    with tempfile.TemporaryFile("w+") as log, subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True) as job:
        try:
            _wait_for_line(log, job, r"train step [1-9]", timeout=300)
            with _outage():
                try:
                    _wait_for_line(log, job, r"flush to s3://\S+ failed", timeout=120)
                except AssertionError:
                    if job.poll() is None:  # a job that stopped on the outage is judged below
                        raise
                time.sleep(5)
            job.wait(timeout=300)
        finally:
            if job.poll() is None:
                job.kill()
            shutil.rmtree(ray_tmp, ignore_errors=True)
        log.seek(0)
        out = log.read()
    summary = json.loads(storage.read_text(storage.join(run_dir, "summary.json")))
    samples = summary["samples"]  # nothing received is lost, all is written
    assert samples["acknowledged_lost"] == 0 and samples["lost"] == 0, samples
    assert samples["written"] == samples["generated"] > 0, samples
    # the run went on through the outage (Ray Train's own writes retried: `storage.patient`)
    assert job.returncode == 0, out[-4000:]
    assert "works again after" in out, out[-4000:]
    assert summary["error"] is None and summary["eval_error"] is None, summary
    assert summary["evaluated"] >= 1 and summary["train_step"] == 60, summary
    again = _job(run_dir, tmp_path, "--train-steps", "70", env=AWS_ENV)
    assert "resuming from" in again.stderr + again.stdout
    _assert_artifacts(run_dir, tmp_path, 70)
    assert "train/resumed_at_step" in _tags(run_dir, tmp_path)
    assert not list(Path.cwd().glob("s3:*"))  # nothing written to a local "s3:" folder
