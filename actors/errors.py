"""Actor errors: methods log their exception (with the actor's name) before re-raising it
(`log_and_raise`); callers retry calls that failed because an actor restarted
(`call_with_retry`)."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import TypeVar

import ray

F = TypeVar("F", bound=Callable)


def log_and_raise(method: F) -> F:
    """Wrap an actor method so an exception is logged in the actor's log, then re-raised
    (the caller's ``ray.get`` raises it too)."""
    log = logging.getLogger(method.__module__)

    @functools.wraps(method)
    def wrapped(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception:
            log.exception("%s.%s failed", type(self).__name__, method.__name__)
            raise

    return wrapped  # type: ignore[return-value]


def call_with_retry(call: Callable[[], ray.ObjectRef], what: str, timeout_s: float = 120.0,
                    wait_s: float = 1.0):
    """``ray.get(call())``, submitted again while the target actor is dead or restarting
    (``RayActorError``: a call in flight when an actor with ``max_restarts`` crashes fails
    once; the actor comes back). Other errors propagate at once.

    Args:
        call: submits the call, e.g. ``lambda: buffer.add.remote(batch)``.
        what: names the call in the warning logged per retry.
        timeout_s: give up after this many seconds and re-raise the last error.
        wait_s: pause between tries.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return ray.get(call())
        except ray.exceptions.RayActorError as e:
            if time.monotonic() >= deadline:
                raise
            logging.getLogger(__name__).warning("%s failed (%s); retrying", what,
                                                type(e).__name__)
            time.sleep(wait_s)
