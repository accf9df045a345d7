"""`WeightsStore` actor: the newest network weights as one object-store reference.

Weights travel in one form: a ``{name: numpy array}`` dict (`net.weights_numpy`; numpy,
not torch: ~10x cheaper to put/get). A publisher calls ``publish.remote(version,
weights)``; the store ``ray.put``s its own copy, so the weights outlive the publisher (a
trainer that exits, a restarted evaluator). Readers poll
``latest.remote(after_version=their_version)`` and ``ray.get`` the reference only when it
is newer. Only the newest version is kept.
"""

from __future__ import annotations

import numpy as np
import ray
from ray import ObjectRef

from actors.errors import log_and_raise


@ray.remote(max_restarts=-1)
class WeightsStore:
    """Versioned weights; versions must strictly increase. A restarted store is empty until
    the next publish (readers keep the weights they have)."""

    def __init__(self) -> None:
        self._version = -1
        self._ref: ObjectRef | None = None

    @log_and_raise
    def publish(self, version: int, weights: dict[str, np.ndarray]) -> None:
        """Make ``weights`` the newest version (the store puts and owns a copy).

        Args:
            version: a larger integer than any published before (the train step).
            weights: ``{name: numpy array}`` (`net.weights_numpy`).

        Raises:
            ValueError: ``version`` not larger than the current one.
            TypeError: ``version`` not an int, or ``weights`` not a str -> numpy dict.
        """
        if isinstance(version, bool) or not isinstance(version, int | np.integer):
            raise TypeError(f"version must be an int, got {type(version).__name__}")
        if version <= self._version:
            raise ValueError(f"version {version} is not newer than {self._version}")
        if not isinstance(weights, dict):
            raise TypeError(f"weights must be a {{name: numpy array}} dict, got "
                            f"{type(weights).__name__}")
        bad = [k for k, v in weights.items()
               if not isinstance(k, str) or not isinstance(v, np.ndarray)]
        if bad:
            raise TypeError(f"weights must map str to numpy arrays; bad keys: {bad[:5]}")
        self._version, self._ref = int(version), ray.put(weights)

    def latest(self, after_version: int = -1) -> tuple[int, ObjectRef] | None:
        """``(version, ref)`` of the newest weights if newer than ``after_version``, else
        None. The reference resolves to the published dict."""
        if self._ref is None or self._version <= after_version:
            return None
        return self._version, self._ref

    def version(self) -> int:
        """The newest published version (-1 before the first publish)."""
        return self._version
