"""The main job's driver loops: keep selfplay and evaluation calls in flight, log their
results (TensorBoard ``selfplay/*``, ``eval/*``; Ray metrics ``ringrift_selfplay_*``,
``ringrift_eval_*``, `actors.metrics`) and survive actors that restart."""

from __future__ import annotations

import logging
import time

import ray
from torch.utils.tensorboard import SummaryWriter

from actors.errors import call_with_retry
from actors.evaluator import Evaluation
from actors.metrics import Recorder
from actors.selfplay_worker import BatchReport
from ringrift_ray.replay.buffer import StoreUnavailable

log = logging.getLogger("alphazero")


class SelfplayPump:
    """Keeps one ``play_batch`` call in flight per worker and logs their statistics
    (``metrics`` records the Ray metrics with the run's tags)."""

    def __init__(self, workers: list, writer: SummaryWriter, metrics: Recorder):
        self.workers = workers
        self.writer, self.metrics = writer, metrics
        self.pending = {w.play_batch.remote(): w for w in workers}
        self.resume_at: dict = {}
        self.games = self.samples = self.failures = 0
        self.searched_moves = self.simulations = 0
        self.store_error: Exception | None = None  # the buffer's `StoreUnavailable`
        self.producers: dict[str, tuple[int, int, int]] = {}  # id -> (generated, received,
        # acknowledged) samples, the worker's last report
        self.t0 = time.perf_counter()

    def poll(self, timeout: float) -> None:
        ready, _ = ray.wait(list(self.pending), num_returns=1, timeout=timeout)
        for ref in ready:
            worker = self.pending.pop(ref)
            try:
                report: BatchReport = ray.get(ref)
            except ray.exceptions.RayError as e:  # the actor restarts (max_restarts)
                self.failures += 1
                self.metrics.inc("ringrift_selfplay_failures")
                if _store_unavailable(e):  # not retried: the run stops (alphazero._drive)
                    self.store_error = self.store_error or e
                    log.error("the replay buffer cannot write its shards: %s", e)
                    continue
                log.warning("selfplay batch failed (%s); resubmitting", type(e).__name__)
                self.pending[worker.play_batch.remote()] = worker
                continue
            self.games += report.games
            self.samples += report.samples
            self.producers[report.producer] = (report.generated, report.received,
                                               report.acknowledged)
            elapsed = time.perf_counter() - self.t0
            self.writer.add_scalar("selfplay/games_per_s", self.games / elapsed, self.games)
            self.searched_moves += report.searched_moves
            self.simulations += report.simulations
            self.writer.add_scalar("selfplay/searched_moves_per_s",
                                   self.searched_moves / elapsed, self.games)
            self.writer.add_scalar("selfplay/simulations_per_s", self.simulations / elapsed,
                                   self.games)
            self.writer.add_scalar("selfplay/nn_batch_fill", report.nn_batch_fill, self.games)
            self.writer.add_scalar("selfplay/model_lag", report.model_lag, self.games)
            self.writer.add_scalar("selfplay/model_version", report.model_version, self.games)
            self._record(report)
            delay = 1.0 if report.throttle else 0.0
            self.resume_at[worker] = time.perf_counter() + delay
        now = time.perf_counter()
        for worker, at in list(self.resume_at.items()):
            if now >= at:
                del self.resume_at[worker]
                self.pending[worker.play_batch.remote()] = worker

    def _record(self, report: BatchReport) -> None:
        """The ``ringrift_selfplay_*`` metrics of one worker's interval."""
        m, worker = self.metrics, str(report.worker)
        for name, value in (("games", report.games), ("moves", report.moves),
                            ("samples", report.samples), ("capped_games", report.capped_games),
                            ("searched_moves", report.searched_moves),
                            ("simulations", report.simulations)):
            m.inc(f"ringrift_selfplay_{name}", value, worker=worker)
        m.set("ringrift_selfplay_nn_batch_fill", report.nn_batch_fill, worker=worker)
        m.set("ringrift_selfplay_model_lag", report.model_lag, worker=worker)
        m.set("ringrift_selfplay_model_version", report.model_version, worker=worker)
        if report.games:
            m.set("ringrift_selfplay_game_length", report.moves / report.games, worker=worker)

    def drain(self, timeout: float) -> None:
        ray.wait(list(self.pending), num_returns=len(self.pending), timeout=timeout)
        for ref in self.pending:
            ray.cancel(ref)


def final_flush(buffer, pump: SelfplayPump, capacity_lost: bool = False) -> bool:
    """Write the buffer's last samples; a store that still fails is logged and kept as the
    run's error (``pump.store_error``; the unwritten samples count as lost in
    `sample_accounting`).

    Args:
        buffer: the `ReplayBuffer` actor.
        pump: the run's selfplay pump.
        capacity_lost: the run stops on capacity lost for ``run.startup_timeout_s``: a
            dead buffer's node may be gone, so wait 5 s (else 120 s) for it to restart.

    Returns:
        False when the buffer stayed unreachable (logged; what it had not flushed is lost
        and counted so), else True.
    """
    patience_s = 5.0 if capacity_lost else 120.0
    try:
        call_with_retry(lambda: buffer.save.remote(), "buffer.save", timeout_s=patience_s)
    except ray.exceptions.RayTaskError as e:
        log.error("the final flush of the replay buffer failed: %s", e)
        pump.store_error = pump.store_error or e
    except ray.exceptions.RayActorError as e:
        log.error("the replay buffer is unreachable after %g s (%s): the samples it had "
                  "not flushed are lost; its shards are on disk", patience_s, type(e).__name__)
        return False
    return True


def sample_accounting(pump: SelfplayPump, ledger: dict[str, dict[str, int]], written: int,
                      since_ns: int) -> dict[str, int]:
    """``summary.json``'s ``samples`` of a run (README "Reliability"; the terms are
    `ringrift_ray.replay.ledger`'s): what its selfplay producers generated, what the buffer
    received and acknowledged, what is written, and what was lost.

    Each producer's count is the larger of its last report to the driver and the buffer's
    ledger (either may die with its process). Only producers started at or after
    ``since_ns`` (their id's time) count: the ledger remembers earlier runs' producers.

    Args:
        pump: the run's selfplay pump (``producers``: the workers' last reports).
        ledger: ``ReplayBuffer.ledger``'s producers part.
        written: samples in the shards this run wrote.
        since_ns: the run's start, ``time.time_ns()``.

    Returns:
        ``{"generated", "received", "acknowledged", "written", "lost",
        "acknowledged_lost"}``, samples. ``lost`` = generated - written (games of a worker
        that died with the buffer before a flush, a run stopped by a store outage);
        ``acknowledged_lost`` = acknowledged - written, never above 0 by the ledger's rule.
    """
    def started(producer: str) -> int:
        return int(producer.rsplit("-", 1)[-1]) if "-" in producer else 0

    counts = dict.fromkeys(("generated", "received", "acknowledged"), 0)
    for p in {p for p in set(pump.producers) | set(ledger) if started(p) >= since_ns}:
        gen, got, ack = pump.producers.get(p, (0, 0, 0))
        booked = ledger.get(p, {"received": 0, "acknowledged": 0})
        got, ack = max(got, booked["received"]), max(ack, booked["acknowledged"])
        counts["generated"] += max(gen, got)
        counts["received"] += got
        counts["acknowledged"] += ack
    counts["written"] = written
    counts["lost"] = max(0, counts["generated"] - written)
    counts["acknowledged_lost"] = max(0, counts["acknowledged"] - written)
    return counts


def _store_unavailable(error: BaseException) -> bool:
    """Whether a Ray error was caused, at any depth, by the buffer's `StoreUnavailable`."""
    return _caused_by(error, StoreUnavailable)


def _caused_by(error: BaseException | None, kind: type[BaseException]) -> bool:
    """Whether ``error`` or its cause at any depth (a Ray error's ``cause``) is a ``kind``."""
    while error is not None:
        if isinstance(error, kind):
            return True
        error = getattr(error, "cause", None) or error.__cause__
    return False


class EvalPump:
    """Keeps one ``Evaluator.evaluate_next`` call in flight and logs ``eval/*`` metrics
    (step = candidate version). An evaluator that died (``RayActorError``) restarts with
    its league table on disk and is asked again; so is one whose store refused a write
    (``OSError``: asked again after 2, 4, 8 ... s, at most 60, for up to ``outage_s``
    seconds of failures in a row); any other error inside an evaluation (a bug, it would
    recur) stops evaluation, and selfplay keeps the last promoted weights."""

    IDLE_S = 2.0  # wait before asking again when no new candidate existed

    def __init__(self, evaluator, writer: SummaryWriter, metrics: Recorder,
                 outage_s: float = 600.0):
        self.evaluator, self.outage_s = evaluator, outage_s
        self.store_failing_since: float | None = None  # perf_counter of the first OSError
        self.store_failures = 0  # in a row
        self.writer, self.metrics = writer, metrics
        self.pending = evaluator.evaluate_next.remote()
        self.asked_at = time.perf_counter()
        self.resume_at = 0.0
        self.evaluated = self.promoted = self.failures = 0
        self.error: Exception | None = None

    def poll(self) -> None:
        if self.error is not None:
            return
        if self.pending is None:
            if time.perf_counter() >= self.resume_at:
                self.pending = self.evaluator.evaluate_next.remote()
                self.asked_at = time.perf_counter()
            return
        ready, _ = ray.wait([self.pending], timeout=0)
        if ready:
            self._collect()

    def finish(self, timeout: float) -> None:
        """Wait for the call in flight, then evaluate the newest candidate (within
        ``timeout`` seconds overall); an evaluator that died meanwhile (its node lost) is
        asked again every `IDLE_S` seconds until it has restarted."""
        deadline = time.perf_counter() + timeout
        while self.error is None:  # until the evaluator has no newer candidate
            if self.pending is None:
                time.sleep(max(0.0, min(self.resume_at, deadline) - time.perf_counter()))
                if time.perf_counter() >= deadline:
                    log.warning("the evaluator did not answer within %.0f s; not waiting",
                                timeout)
                    return
                self.pending = self.evaluator.evaluate_next.remote()
                self.asked_at = time.perf_counter()
            ready, _ = ray.wait([self.pending], timeout=max(0.0, deadline - time.perf_counter()))
            if not ready:
                log.warning("evaluation still running after %.0f s; not waiting", timeout)
                ray.cancel(self.pending)
                return
            failures = self.failures
            if self._collect() is None and self.failures == failures:
                return

    def _collect(self) -> Evaluation | None:
        ref, self.pending = self.pending, None
        try:
            entry: Evaluation | None = ray.get(ref)
        except ray.exceptions.RayActorError as e:  # the actor restarts (max_restarts)
            self.failures += 1
            log.warning("evaluator died (%s); asking its restarted process again",
                        type(e).__name__)
            self.resume_at = time.perf_counter() + self.IDLE_S
            return None
        except ray.exceptions.RayError as e:
            if self._store_refused(e):
                return None
            log.error("evaluation failed; selfplay keeps the last promoted weights: %s", e)
            self.error = e
            return None
        self.store_failing_since, self.store_failures = None, 0
        if entry is None:
            self.resume_at = time.perf_counter() + self.IDLE_S
            return None
        self.evaluated += 1
        self.promoted += entry.promoted
        self._record(entry)
        self.writer.add_scalar("eval/elo", entry.elo, entry.version)
        for key, rate in entry.win_rates.items():
            self.writer.add_scalar(f"eval/winrate_vs_{key}", rate, entry.version)
        self.writer.flush()
        log.info("evaluated candidate %d: elo %.0f, %s after %d games (%s)", entry.version,
                 entry.elo, "promoted" if entry.promoted else "not promoted", entry.games,
                 "; ".join(entry.reasons))
        return entry

    def _store_refused(self, error: ray.exceptions.RayError) -> bool:
        """Whether ``error`` is the run directory's store refusing a write (an ``OSError``
        cause) within ``outage_s`` of failures in a row: then the evaluator is asked again
        after a backoff."""
        if not _caused_by(error, OSError):
            return False
        now = time.perf_counter()
        self.store_failing_since = self.store_failing_since or now
        if now - self.store_failing_since > self.outage_s:
            return False
        self.failures, self.store_failures = self.failures + 1, self.store_failures + 1
        delay = min(2.0 ** self.store_failures, 60.0)
        log.warning("the evaluator's store refused a write (asking again in %.0f s): %s",
                    delay, error)
        self.resume_at = now + delay
        return True

    def _record(self, entry: Evaluation) -> None:
        """The ``ringrift_eval_*`` metrics of one decision."""
        m = self.metrics
        m.inc("ringrift_eval_candidates")
        m.inc("ringrift_eval_promotions", int(entry.promoted))
        m.set("ringrift_eval_candidate_elo", entry.elo)
        if entry.promoted:
            m.set("ringrift_eval_best_elo", entry.elo)
        for opponent, rate in entry.win_rates.items():
            m.set("ringrift_eval_win_rate", rate, opponent=opponent)
        m.observe("ringrift_eval_decision_seconds", time.perf_counter() - self.asked_at)
