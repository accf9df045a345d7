"""`ActorName`: how one actor is handed to another's constructor.

A restartable actor (``max_restarts``) whose constructor takes an actor handle (or any
object ref) has that argument pinned in the object store; Ray warns at creation that the
restart fails if the argument is lost (ray-project/ray#53727). Our actors therefore take
the *names* of the named actors they talk to, and look them up (``ray.get_actor``) in their
constructor: a restarted process looks them up again, whatever became of the driver's
references.
"""

from __future__ import annotations

from dataclasses import dataclass

import ray


@dataclass(frozen=True)
class ActorName:
    """A named actor's ``name`` in ``namespace``."""

    name: str
    namespace: str

    def options(self) -> dict[str, str]:
        """``{"name": ..., "namespace": ...}`` for ``Actor.options(**...)``."""
        return {"name": self.name, "namespace": self.namespace}

    def handle(self) -> ray.actor.ActorHandle:
        """The actor's handle (``ray.get_actor``).

        Raises:
            ValueError: no live actor has this name in this namespace.
        """
        return ray.get_actor(self.name, namespace=self.namespace)
