"""The driver's side of a failing store (`experiments.ops.pumps.EvalPump`): an evaluation
whose write the store refused is asked again after a backoff, within a bound; any other
error stops evaluation. The buffer's side is tests/test_buffer.py and tests/test_ledger.py;
a real store outage during a run is tests/test_storage.py."""

from types import SimpleNamespace

import ray

from experiments.ops.pumps import EvalPump


class _Writer:
    def add_scalar(self, *a) -> None:
        pass


def _pump(outage_s: float) -> EvalPump:
    evaluator = SimpleNamespace(evaluate_next=SimpleNamespace(remote=lambda: None))
    return EvalPump(evaluator, _Writer(), metrics=None, outage_s=outage_s)


def _task_error(cause: Exception) -> ray.exceptions.RayTaskError:
    return ray.exceptions.RayTaskError("evaluate_next", "traceback", cause).as_instanceof_cause()


def test_a_refused_write_is_asked_again_with_backoff_then_given_up():
    pump = _pump(outage_s=30)
    assert pump._store_refused(_task_error(OSError("503 SlowDown")))
    first = pump.resume_at
    assert pump._store_refused(_task_error(ConnectionRefusedError("refused")))
    assert pump.store_failures == 2 and pump.resume_at > first  # 2 s, then 4 s
    pump.store_failing_since -= 31  # the failures have lasted past outage_s
    assert not pump._store_refused(_task_error(OSError("503 SlowDown")))


def test_any_other_error_is_not_a_store_outage():
    assert not _pump(outage_s=30)._store_refused(_task_error(ValueError("a bug")))
