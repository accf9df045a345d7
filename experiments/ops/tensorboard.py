"""TensorBoard writers for a run directory that may be a URI (`ringrift_ray.storage`).

``SummaryWriter`` writes event files to a local folder only. For a local run directory (a
path or ``file://``) `open_writer` returns a plain writer on ``<run dir>/tensorboard``. For
an object store (``s3://``, ``gs://``) it returns a `SyncedWriter`: events go to a local
staging folder (`storage.staging_dir`, one per role) and are uploaded to
``<run dir>/tensorboard/`` on a ``flush()`` at most every `SYNC_EVERY_S` seconds, and on
``close()``. Event file names hold host, pid and time, so the driver's and the trainer's
files share the one remote folder; TensorBoard reads it with ``--logdir s3://...``, or
after copying it down.
"""

from __future__ import annotations

import logging
import time

from torch.utils.tensorboard import SummaryWriter

from ringrift_ray import storage

log = logging.getLogger(__name__)

SYNC_EVERY_S = 30.0  # upload interval of a SyncedWriter (seconds between flush uploads)


def open_writer(run_dir: storage.Location, role: str) -> SummaryWriter:
    """A TensorBoard writer for ``run_dir/tensorboard``.

    Args:
        run_dir: the run directory, a path or a URI.
        role: names the local staging folder of an object-store run (``driver``,
            ``trainer``), so two writers on one node keep apart.

    Raises:
        ValueError: a URI pyarrow does not understand.
    """
    if storage.is_local(run_dir):
        return SummaryWriter(str(storage.staging_dir(run_dir, "tensorboard")))
    return SyncedWriter(run_dir, role)


class SyncedWriter(SummaryWriter):
    """A ``SummaryWriter`` on a local staging folder that uploads its event files to
    ``run_dir/tensorboard`` (see the module docstring). A failed periodic upload is logged
    and retried at the next one; a failed upload on ``close()`` raises ``OSError``."""

    def __init__(self, run_dir: storage.Location, role: str,
                 sync_every_s: float = SYNC_EVERY_S) -> None:
        self.remote = storage.join(run_dir, "tensorboard")
        self.staging = storage.staging_dir(run_dir, f"tensorboard-{role}")
        self.sync_every_s = sync_every_s
        self.last_sync = time.monotonic()
        super().__init__(str(self.staging))

    def flush(self) -> None:
        super().flush()
        if time.monotonic() - self.last_sync >= self.sync_every_s:
            self.last_sync = time.monotonic()
            try:
                storage.upload_dir(self.staging, self.remote)
            except OSError as e:
                log.warning("TensorBoard upload to %s failed (retried later): %s",
                            self.remote, e)

    def close(self) -> None:
        super().close()
        storage.upload_dir(self.staging, self.remote)
