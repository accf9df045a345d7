"""The replay ledger (`ringrift_ray.replay.ledger`, `outbox`): batches acknowledged in
order, held by their producer until on disk, sent again to a restarted buffer, never
written twice; and the run's sample accounting (`experiments.ops.pumps`)."""

import time
from types import SimpleNamespace

import pytest
from sample_data import make_batch

from experiments.ops.pumps import sample_accounting
from ringrift_ray.config import BufferConfig
from ringrift_ray.replay import shards
from ringrift_ray.replay.buffer import Buffer
from ringrift_ray.replay.ledger import Ledger
from ringrift_ray.replay.outbox import Outbox

CFG = BufferConfig(capacity=10_000, min_samples=1, flush_every_samples=40, flush_every_s=3600)


def test_batches_are_acknowledged_in_order_once():
    ledger = Ledger()
    assert ledger.verdict("w0-1", 1) == "gap" and ledger.expected("w0-1") == 0
    assert ledger.verdict("w0-1", 0) == "accepted"
    ledger.record("w0-1", 0, 7)
    assert ledger.verdict("w0-1", 0) == "duplicate"
    assert ledger.verdict("w0-1", 2) == "gap" and ledger.expected("w0-1") == 1
    assert ledger.verdict("w0-1", 3, floor=3) == "accepted"  # the producer holds 3 and up
    with pytest.raises(ValueError, match="batch number 2 \\(floor 3\\)"):
        ledger.verdict("w0-1", 2, floor=3)


def test_snapshot_round_trip_is_all_durable_and_prune_forgets_idle_producers():
    ledger = Ledger()
    for seq in range(3):
        assert ledger.verdict("a-1", seq) == "accepted"
        ledger.record("a-1", seq, 10)
    text = ledger.snapshot()
    back = Ledger.from_snapshot(text)
    assert back.expected("a-1") == 3 and back.durable_seq("a-1") == 2
    assert back.entries["a-1"].durable == back.entries["a-1"].received == 30
    assert ledger.prune(idle_s=60) == 0  # not durable yet
    ledger.mark_durable()
    assert ledger.prune(idle_s=60, now=time.time() + 61) == 1 and not ledger.entries
    with pytest.raises(ValueError, match="not a replay ledger"):
        Ledger.from_snapshot('{"a": 3}')


def _rows(directory) -> list[int]:
    batch = shards.read_shards(directory, "square8", 2)
    return [] if batch is None else batch.game_id.tolist()


def test_a_restarted_buffer_gets_back_every_acknowledged_batch(tmp_path):
    buffer = Buffer(CFG, spill_dir=tmp_path, seed=0)
    outbox = Outbox("w0-5", lambda b, p, s, f: buffer.add(b, p, s, f))
    for k in range(5):  # 25 samples a batch; flushes after batches 1 and 3
        outbox.push(make_batch(25, first_id=25 * k, seed=k))
    assert outbox.received == 125 and outbox.acknowledged == 100 == len(_rows(tmp_path))
    assert [s for s, _ in outbox.held] == [4]  # the rest are on disk
    buffer = Buffer(CFG, spill_dir=tmp_path, seed=0)  # killed: batch 4 was only in memory
    assert buffer.restored == 100
    outbox.push(make_batch(25, first_id=125, seed=5))  # gap: 4 is sent again, then 5
    assert outbox.resent == 1 and outbox.received == 150 == outbox.generated
    buffer.save()
    assert sorted(_rows(tmp_path)) == list(range(150))  # every sample once
    assert buffer.ledger_totals() == {"w0-5": {"received": 150, "acknowledged": 150}}


def test_a_lost_reply_is_sent_again_and_dropped_as_a_duplicate(tmp_path):
    buffer, replies = Buffer(CFG, spill_dir=tmp_path, seed=0), []

    def flaky(batch, producer, seq, floor):
        reply = buffer.add(batch, producer, seq, floor)
        replies.append(reply.verdict)
        if len(replies) == 1:
            raise ConnectionError("reply lost")  # the buffer added it all the same
        return reply

    outbox = Outbox("w1-5", flaky)
    with pytest.raises(ConnectionError):
        outbox.push(make_batch(10))
    outbox.push(make_batch(10, first_id=10, seed=1))
    assert replies == ["accepted", "duplicate", "accepted"]
    buffer.save()
    assert sorted(_rows(tmp_path)) == list(range(20))


def test_a_quarantined_newest_shard_does_not_stall_the_producer(tmp_path):
    buffer = Buffer(CFG, spill_dir=tmp_path, seed=0)
    outbox = Outbox("w2-5", lambda b, p, s, f: buffer.add(b, p, s, f))
    for k in range(4):
        outbox.push(make_batch(20, first_id=20 * k, seed=k))  # flushes after 1 and 3
    newest = shards.list_shards(tmp_path)[-1]
    newest.write_bytes(b"not parquet")  # batches 2 and 3 are gone with it
    buffer = Buffer(CFG, spill_dir=tmp_path, seed=0)  # quarantines it; ledger: up to 1
    outbox.push(make_batch(20, first_id=80, seed=4))  # floor 4: the ledger moves up
    buffer.save()
    assert sorted(_rows(tmp_path)) == list(range(40)) + list(range(80, 100))


def test_a_failing_store_refuses_batches_instead_of_evicting_received_ones(tmp_path,
                                                                         monkeypatch):
    cfg = BufferConfig(capacity=50, min_samples=1, flush_every_samples=20, flush_every_s=3600,
                       store_outage_s=600)
    buffer = Buffer(cfg, spill_dir=tmp_path, seed=0)
    outbox = Outbox("w3-5", lambda b, p, s, f: buffer.add(b, p, s, f))
    real = shards.write_shard
    monkeypatch.setattr("ringrift_ray.replay.buffer.shards.write_shard",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("503 SlowDown")))
    for k in range(4):  # 2 x 20 received (unwritten), then the window is full
        reply = outbox.push(make_batch(20, first_id=20 * k, seed=k))
        buffer.retry_at = 0.0  # no backoff wait in the test
    assert reply.verdict == "full" and outbox.received == 40 and len(outbox.held) == 4
    assert buffer.lost == 0 and buffer.windows[("square8", 2)].evicted_unsaved() == 0
    monkeypatch.setattr("ringrift_ray.replay.buffer.shards.write_shard", real)  # store back
    outbox.push(make_batch(20, first_id=80, seed=4))
    buffer.save()
    assert sorted(_rows(tmp_path)) == list(range(100)) and buffer.lost == 0


def test_sample_accounting_counts_this_runs_producers_from_either_side():
    since = 1_000
    pump = SimpleNamespace(producers={"w0-2000": (100, 100, 80), "w1-2000": (40, 30, 30)})
    ledger = {"w0-2000": {"received": 100, "acknowledged": 100},
              "w1-2000": {"received": 30, "acknowledged": 30},
              "w9-3000": {"received": 20, "acknowledged": 10},  # died before it reported
              "w0-500": {"received": 999, "acknowledged": 999}}  # an earlier run's
    counts = sample_accounting(pump, ledger, written=140, since_ns=since)
    assert counts == {"generated": 160, "received": 150, "acknowledged": 140, "written": 140,
                      "lost": 20, "acknowledged_lost": 0}
    assert sample_accounting(pump, ledger, written=130, since_ns=since)["acknowledged_lost"] == 10
