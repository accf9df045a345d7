"""Actors on one shared local Ray (`ray_session` in conftest.py): ReplayBuffer, WeightsStore."""

import numpy as np
import pytest
from sample_data import assert_rows_match, make_batch

from actors.replay_buffer import ReplayBuffer
from actors.weights import WeightsStore
from ringrift_ray.config import BufferConfig
from ringrift_ray.replay.buffer import AddReply
from ringrift_ray.samples import SampleBatch, policy_lag


@pytest.fixture
def ray(ray_session):
    return ray_session


def test_buffer_add_sample_stats(ray):
    cfg = BufferConfig(capacity=1000, min_samples=50, target_replay_ratio=4.0,
                       throttle_slack=100)
    buf = ReplayBuffer.remote(cfg, seed=0)
    a = make_batch(50, version=1)
    assert ray.get(buf.add.remote(a)) == AddReply(size=50, throttle=False)  # warm-up
    assert ray.get(buf.sample.remote(8, "square8", 2)) is None  # no inserts after warm-up
    b = make_batch(40, first_id=50, version=2, seed=1)
    assert ray.get(buf.add.remote(b)) == AddReply(size=90, throttle=True)  # budget 160 > 100
    out = ray.get(buf.sample.remote(64, "square8", 2))
    assert isinstance(out, SampleBatch) and len(out) == 64
    assert_rows_match(out, [a, b])
    assert ray.get(buf.sample.remote(8, "hex8", 2)) is None
    st = ray.get(buf.stats.remote())
    sq8 = st.configs["square8/2p"]
    assert st.size == 90 and sq8.size == 90
    assert st.replay_ratio == 64 / 40
    assert sq8.newest_model_version - sq8.sampled_model_version == pytest.approx(
        policy_lag(2, out))
    assert st.inserts_per_s > 0 and st.samples_per_s > 0
    with pytest.raises(ValueError, match="sample size"):  # logged in the actor, re-raised
        ray.get(buf.sample.remote(0, "square8", 2))
    ray.kill(buf)


def test_buffer_spills_and_restores_across_actor_restarts(ray, tmp_path):
    cfg = BufferConfig(capacity=200, min_samples=10)
    buf = ReplayBuffer.remote(cfg, spill_dir=str(tmp_path), seed=0)
    batches = [make_batch(60, first_id=60 * k, seed=k, version=k) for k in range(3)]
    ray.get([buf.add.remote(b) for b in batches[:2]])
    assert len(ray.get(buf.save.remote())) == 1
    ray.get(buf.add.remote(batches[2]))
    paths = ray.get(buf.save.remote())
    assert len(paths) == 1 and paths[0].endswith(".parquet")
    ray.get(buf.add.remote(make_batch(5, first_id=9000)))  # never saved: lost with the actor
    ray.kill(buf)

    again = ReplayBuffer.remote(cfg, spill_dir=str(tmp_path), seed=1)
    st = ray.get(again.stats.remote())
    assert st.size == 180 and st.configs["square8/2p"].newest_model_version == 2
    out = ray.get(again.sample.remote(4000, "square8", 2))
    assert set(out.game_id.tolist()) == set(range(180))  # P(miss one) ~ 1e-7
    assert_rows_match(out, batches)
    ray.kill(again)


def test_weights_store_versions_and_round_trip(ray):
    store = WeightsStore.remote()
    assert ray.get(store.version.remote()) == -1
    assert ray.get(store.latest.remote()) is None
    rng = np.random.default_rng(0)
    w0 = {"conv.weight": rng.standard_normal((8, 4, 3, 3)).astype(np.float32),
          "fc.bias": rng.standard_normal(5)}
    ray.get(store.publish.remote(0, w0))  # a dict: the store puts it
    version, ref = ray.get(store.latest.remote())
    assert version == 0
    got = ray.get(ref)
    assert got.keys() == w0.keys()
    for k in w0:
        assert got[k].dtype == w0[k].dtype
        np.testing.assert_array_equal(got[k], w0[k])
    assert ray.get(store.latest.remote(after_version=0)) is None

    w3 = {k: v + 1 for k, v in w0.items()}
    ray.get(store.publish.remote(3, w3))
    assert ray.get(store.version.remote()) == 3
    version, ref = ray.get(store.latest.remote(after_version=0))
    assert version == 3
    np.testing.assert_array_equal(ray.get(ref)["fc.bias"], w3["fc.bias"])
    for stale in (3, 2):
        with pytest.raises(ValueError, match="not newer"):
            ray.get(store.publish.remote(stale, w0))
    with pytest.raises(TypeError):
        ray.get(store.publish.remote(4, {"x": [1.0, 2.0]}))
    with pytest.raises(TypeError, match="dict"):
        ray.get(store.publish.remote(4, [ray.put(w3)]))  # the old reference form is gone
    assert ray.get(store.version.remote()) == 3
    ray.kill(store)


def test_a_store_outage_two_calls_deep_is_recognized_by_the_driver(ray):
    """The buffer's StoreUnavailable reaches the driver inside the selfplay worker's error
    (buffer.add inside play_batch); the pump stops the run on it instead of resubmitting."""
    from experiments.ops.pumps import _store_unavailable
    from ringrift_ray.replay.buffer import StoreUnavailable

    @ray.remote
    def add():
        raise StoreUnavailable("writing replay shards to s3://b/replay has failed for 601 s")

    @ray.remote
    def play_batch():
        return ray.get(add.remote())

    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(play_batch.remote())
    assert _store_unavailable(info.value)
    with pytest.raises(ray.exceptions.RayTaskError) as other:
        ray.get(ray.remote(lambda: 1 / 0).remote())
    assert not _store_unavailable(other.value)
