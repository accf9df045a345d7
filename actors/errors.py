"""Actor methods log their exception (with the actor's name) before re-raising it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TypeVar

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
