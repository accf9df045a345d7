"""`WeightsStore` actor: the newest network weights as one object-store reference.

Weights are a ``{name: numpy array}`` dict (numpy, not torch: ~10x cheaper to put/get).
A publisher puts them once and hands over the reference (`publish_weights`); readers
poll ``latest.remote(after_version=their_version)`` and ``ray.get`` the reference only when
it is newer. Only the newest version is kept.

A reference passed by the publisher stays owned by it: if that process dies, readers get
an ``OwnerDiedError`` until the next publish. Publishing the dict itself instead makes the
store ``ray.put`` (and own) a copy.
"""

from __future__ import annotations

import numpy as np
import ray
from ray import ObjectRef

from actors.errors import log_and_raise


@ray.remote
class WeightsStore:
    """Versioned weights; versions must strictly increase."""

    def __init__(self) -> None:
        self._version = -1
        self._ref: ObjectRef | None = None

    @log_and_raise
    def publish(self, version: int, weights: dict[str, np.ndarray] | list[ObjectRef]) -> None:
        """Make ``weights`` the newest version.

        Args:
            version: a larger integer than any published before.
            weights: a ``{name: numpy array}`` dict (the store ``ray.put``s it), or a
                one-element list holding an ``ObjectRef`` to such a dict (Ray would resolve
                a bare top-level ref into its value; the list keeps it a reference).

        Raises:
            ValueError: ``version`` not larger than the current one.
            TypeError: ``version`` not an int, or ``weights`` of another form.
        """
        if isinstance(version, bool) or not isinstance(version, int | np.integer):
            raise TypeError(f"version must be an int, got {type(version).__name__}")
        if version <= self._version:
            raise ValueError(f"version {version} is not newer than {self._version}")
        if isinstance(weights, list) and len(weights) == 1 and isinstance(weights[0],
                                                                          ObjectRef):
            ref = weights[0]
        elif isinstance(weights, dict):
            bad = [k for k, v in weights.items()
                   if not isinstance(k, str) or not isinstance(v, np.ndarray)]
            if bad:
                raise TypeError(f"weights must map str to numpy arrays; bad keys: {bad[:5]}")
            ref = ray.put(weights)
        else:
            raise TypeError("weights must be a {name: numpy array} dict or [ObjectRef], got "
                            f"{type(weights).__name__}")
        self._version, self._ref = int(version), ref

    def latest(self, after_version: int = -1) -> tuple[int, ObjectRef] | None:
        """``(version, ref)`` of the newest weights if newer than ``after_version``, else
        None."""
        if self._ref is None or self._version <= after_version:
            return None
        return self._version, self._ref

    def version(self) -> int:
        """The newest published version (-1 before the first publish)."""
        return self._version


def publish_weights(store: ray.actor.ActorHandle, version: int,
                    weights: dict[str, np.ndarray]) -> ObjectRef:
    """Put ``weights`` in the object store once (owned by the caller) and publish the
    reference. Returns the ``publish`` call's ref: ``ray.get`` it to surface errors."""
    return store.publish.remote(version, [ray.put(weights)])
