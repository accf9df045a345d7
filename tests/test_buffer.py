"""`ringrift_ray.replay.buffer`: FIFO window, exact rows, recency weighting, configs, rate limit."""

import numpy as np
import pytest
from sample_data import assert_rows_match, make_batch

from ringrift_ray.config import BufferConfig
from ringrift_ray.replay.buffer import AddReply, Buffer
from ringrift_ray.replay.window import Window


def store(policy_width: int = 32, **kw) -> Window:
    cfg = BufferConfig(**{"capacity": 100, "min_samples": 1, **kw})
    return Window("square8", 2, cfg, np.random.default_rng(0), policy_width)


def held_ids(s: Window) -> list[int] | None:
    batch = s.unsaved()
    return None if batch is None else batch.game_id.tolist()


def test_fifo_window_keeps_newest_capacity_samples():
    s = store()
    for k in range(3):
        s.add(make_batch(40, first_id=40 * k, seed=k))
        assert len(s) == min(40 * (k + 1), 100)
    assert held_ids(s) == list(range(20, 120))
    s.add(make_batch(250, first_id=1000, seed=5))  # larger than the window: keeps its tail
    assert held_ids(s) == list(range(1150, 1250))


def test_sampled_rows_are_exact_including_policy_entries():
    s = store(capacity=150)
    batches = [make_batch(70, first_id=100 * k, seed=k, version=k) for k in range(3)]
    for b in batches:
        s.add(b)
    out = s.sample(500)
    assert len(out) == 500 and out.policy_offsets[-1] == len(out.policy_indices)
    assert set(out.game_id.tolist()) <= set(held_ids(s))
    assert_rows_match(out, batches)


def test_wider_policy_than_configured_widens_storage():
    s = store(policy_width=8)
    b = make_batch(30, max_entries=40)
    s.add(b)
    assert s.policy_indices.shape[1] == np.diff(b.policy_offsets).max() > 8
    assert_rows_match(s.sample(200), [b])


@pytest.mark.parametrize("lam", [0.0, 3.0])
def test_recency_weighting_follows_exponential_in_age(lam):
    size, n = 1000, 200_000
    s = store(capacity=size, recency_weight=lam)
    s.add(make_batch(size))
    ages = (size - 1) - s.sample(n).game_id  # 0 = newest
    freq = np.bincount(ages // 100, minlength=10) / n
    w = np.exp(-lam * np.arange(size) / size)
    want = np.add.reduceat(w / w.sum(), np.arange(0, size, 100))
    np.testing.assert_allclose(freq, want, atol=0.006)
    if lam:
        assert freq[0] / freq[-1] == pytest.approx(np.exp(lam * 0.9), rel=0.1)


def test_warm_up_then_rate_limit_both_ways():
    s = store(capacity=1000, min_samples=10, target_replay_ratio=2.0, throttle_slack=50)
    assert s.sample(1) is None  # empty
    s.add(make_batch(10))  # warm-up samples are not inserts for the rate limit
    assert s.added == 0 and not s.throttle
    assert s.sample(1) is None  # trainer ahead (budget 0)
    s.add(make_batch(40, first_id=10))
    assert s.budget == 80 and s.throttle  # selfplay ahead
    assert len(s.sample(20)) == 20 and s.throttle  # budget 60
    assert len(s.sample(20)) == 20 and not s.throttle  # budget 40
    assert len(s.sample(40)) == 40  # budget 0
    assert s.sample(1) is None and not s.throttle
    assert s.stats().replay_ratio == 2.0


def test_without_target_ratio_never_throttles():
    s = store(min_samples=20)
    s.add(make_batch(10))
    assert s.sample(5) is None  # below min_samples
    s.add(make_batch(90, first_id=10))
    for _ in range(5):
        assert len(s.sample(1000)) == 1000
    assert not s.throttle


def test_buffer_keeps_configurations_apart():
    rs = Buffer(BufferConfig(capacity=100, min_samples=5), seed=1)
    a, b = make_batch(30, version=3), make_batch(20, "hex8", 3, first_id=500, version=7)
    assert rs.add(a) == AddReply(size=30, throttle=False)
    assert rs.add(b).size == 20
    out = rs.sample(64, "hex8", 3)
    assert (out.board, out.players, out.cells.shape) == ("hex8", 3, (64, 10, 61))
    assert_rows_match(out, [b])
    assert_rows_match(rs.sample(64, "square8", 2), [a])
    assert rs.sample(8, "square19", 2) is None
    st = rs.stats()
    assert st.size == 50 and set(st.configs) == {"square8/2p", "hex8/3p"}
    hex8 = st.configs["hex8/3p"]
    assert hex8.newest_model_version - hex8.sampled_model_version == 0
    rs.add(make_batch(10, version=9, first_id=900))
    sq8 = rs.stats().configs["square8/2p"]  # last sampled at version 3, newest 9
    assert sq8.newest_model_version - sq8.sampled_model_version == 6
    wrong = make_batch(5, "hex8", 3)
    wrong.cells = np.zeros((5, 10, 64), np.uint8)
    with pytest.raises(ValueError, match="cells"):
        rs.add(wrong)


def test_square8_sample_fits_in_one_kilobyte():
    s = store(capacity=1000)
    s.add(make_batch(10))
    assert s.nbytes() / 1000 <= 1024


def test_save_then_restore_resumes_the_window(tmp_path):
    cfg = BufferConfig(capacity=100, min_samples=5, target_replay_ratio=1.0)
    rs = Buffer(cfg, spill_dir=tmp_path, seed=0)
    a, b = make_batch(60), make_batch(30, "hex8", 3, first_id=500, seed=1)
    rs.add(a)
    rs.add(b)
    assert len(rs.save()) == 2
    assert rs.save() == []  # nothing new
    c = make_batch(70, first_id=60, seed=2, version=4)
    rs.add(c)  # the window (100) now holds a[30:] and c
    assert len(rs.save()) == 1
    (tmp_path / "square8_2p_zz_corrupt.parquet").write_bytes(b"not parquet")
    again = Buffer(cfg, spill_dir=tmp_path, seed=0)
    assert again.save() == []  # restored samples are not written again
    s = again.windows[("square8", 2)]
    assert len(s) == 100 and s.added == 0 and s.newest_version == 4
    s.saved = 0  # expose the held window through unsaved()
    assert held_ids(s) == list(range(30, 130))
    assert again.sample(10, "square8", 2) is None  # rate limit: no fresh inserts yet
    assert len(again.windows[("hex8", 3)]) == 30


def test_save_needs_a_spill_dir():
    with pytest.raises(ValueError, match="spill_dir"):
        Buffer(BufferConfig(capacity=10, min_samples=1)).save()


def test_one_reservation_serves_several_draws_and_counts_once():
    s = store(capacity=1000, min_samples=10, target_replay_ratio=1.0, throttle_slack=10_000)
    s.add(make_batch(10))  # warm-up: no budget yet
    assert not s.reserve(4) and s.sampled == 0
    s.add(make_batch(8, first_id=10))
    assert s.reserve(8) and s.sampled == 8  # two ranks x 4 claimed at once
    a, b = s.draw(4), s.draw(4)
    assert len(a) == len(b) == 4 and s.sampled == 8
    assert not s.reserve(2)  # budget 8 - 8 = 0: the trainer is ahead
    assert len(s.draw(3)) == 3 and s.sampled == 11  # no reservation: counted as sampled
    assert s.sample(2) is None


def test_buffer_reserve_and_draw_per_configuration():
    rs = Buffer(BufferConfig(capacity=100, min_samples=5), seed=1)
    assert not rs.reserve(4, "square8", 2)
    with pytest.raises(ValueError, match="no square8/2p"):
        rs.draw(4, "square8", 2)
    rs.add(make_batch(30))
    assert rs.reserve(8, "square8", 2)
    assert len(rs.draw(4, "square8", 2)) == len(rs.draw(4, "square8", 2)) == 4


def test_add_flushes_to_parquet_every_interval(tmp_path):
    cfg = BufferConfig(capacity=1000, min_samples=1, flush_every_samples=50,
                       flush_every_s=3600)
    rs = Buffer(cfg, spill_dir=tmp_path, seed=0)
    rs.add(make_batch(30))
    assert not list(tmp_path.glob("*.parquet"))  # 30 < 50: held in memory only
    rs.add(make_batch(30, first_id=30))
    assert len(list(tmp_path.glob("*.parquet"))) == 1  # 60 >= 50: flushed
    again = Buffer(cfg, spill_dir=tmp_path, seed=1)  # a crash here loses nothing
    assert again.restored == 60 and again.stats().size == 60
    timed = Buffer(cfg.model_copy(update={"flush_every_s": 1e-9}), spill_dir=tmp_path / "t")
    timed.add(make_batch(1))
    assert len(list((tmp_path / "t").glob("*.parquet"))) == 1  # the interval passed


def test_samples_evicted_before_a_flush_are_counted_lost_once(tmp_path):
    cfg = BufferConfig(capacity=40, min_samples=1, flush_every_samples=100,
                       flush_every_s=3600)
    rs = Buffer(cfg, spill_dir=tmp_path, seed=0)
    rs.add(make_batch(30))
    rs.add(make_batch(30, first_id=30))  # 60 added into a window of 40: 20 left unsaved
    assert rs.lost == 0 and rs.flushes == 0
    rs.save()
    assert rs.lost == 20 and rs.flushes == 1 and rs.last_flush_s > 0
    rs.save()  # nothing new: not counted again
    rs.add(make_batch(10, first_id=60))
    rs.save()
    assert rs.lost == 20 and rs.flushes == 3
    again = Buffer(cfg, spill_dir=tmp_path, seed=1)
    assert again.restored == 50 and again.stats().size == 40  # 40 + 10 were written


def test_a_failing_store_holds_the_samples_then_writes_them_or_gives_up(tmp_path, monkeypatch):
    from ringrift_ray.replay import buffer as buffer_module
    from ringrift_ray.replay.buffer import StoreUnavailable

    real, calls = buffer_module.shards.write_shard, []

    def refusing(batch, directory, **kw):
        calls.append(len(batch))
        if len(calls) <= 2:  # the store refuses the first two writes
            raise OSError("503 SlowDown")
        return real(batch, directory, **kw)

    monkeypatch.setattr(buffer_module.shards, "write_shard", refusing)
    cfg = BufferConfig(capacity=1000, min_samples=1, flush_every_samples=10,
                       flush_every_s=3600, store_outage_s=60)
    rs = Buffer(cfg, spill_dir=tmp_path, seed=0)
    rs.add(make_batch(20))  # the flush fails: held, retried after 1 s
    assert rs.failures == 1 and rs.failing_since is not None and rs.stats().size == 20
    rs.add(make_batch(5, first_id=20))  # within the backoff: no attempt
    assert len(calls) == 1
    rs.retry_at = 0.0  # the backoff has passed
    rs.add(make_batch(5, first_id=25))  # fails again (backoff 2 s)
    assert rs.failures == 2 and rs.retry_at > 0
    rs.retry_at = 0.0
    rs.add(make_batch(5, first_id=30))  # the store is back: all 35 written, nothing lost
    assert rs.failing_since is None and rs.lost == 0
    assert Buffer(cfg, spill_dir=tmp_path, seed=1).restored == 35

    monkeypatch.setattr(buffer_module.shards, "write_shard",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("connection refused")))
    rs.add(make_batch(10, first_id=35))  # a new outage starts
    rs.failing_since -= 61  # ... and has lasted past store_outage_s
    rs.retry_at = 0.0
    with pytest.raises(StoreUnavailable, match=f"{tmp_path}.*store_outage_s.*connection"):
        rs.add(make_batch(10, first_id=45))
    assert rs.stats().size == 55  # the unwritten samples are still held
