"""The numba decorator used by every rules kernel (cached to disk next to the module).

Set ``NUMBA_DISABLE_JIT=1`` to run the kernels as plain Python when debugging.
"""

import numba

njit = numba.njit(cache=True, nogil=True)
