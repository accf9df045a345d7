"""The numba decorator used by every rules kernel, with an on-disk cache.

numba's own cache is keyed per source file, so a kernel that calls into a changed file
would keep stale machine code. The cache therefore lives in a directory named by a hash of
every kernel source file (``game/*.py``, ``encoding.py``, ``symmetry.py``):
``$RINGRIFT_CACHE_DIR/<hash>`` or ``~/.cache/ringrift_ray/numba/<hash>``.
Set ``NUMBA_DISABLE_JIT=1`` to run the kernels as plain Python when debugging.
"""

import hashlib
import os
from pathlib import Path

import numba


def _cache_dir() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).parent
    sources = sorted(here.glob("*.py")) + [here.parent / "encoding.py", here.parent / "symmetry.py"]
    for path in (p for p in sources if p.exists()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    root = os.environ.get("RINGRIFT_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "ringrift_ray", "numba")
    return os.path.join(root, digest.hexdigest()[:16])


numba.config.CACHE_DIR = _cache_dir()
njit = numba.njit(cache=True, nogil=True)
