"""Steady memory for long CPU training runs with many batch shapes (``--steady_memory``).

Length-bucketed batches (``--batch_frames``) give almost every batch its own shape, and two things then keep
memory that no later step needs (``python -m benchmarks.scale``; the seed's settings in bf16, one epoch of 66
batches; ``docs/performance.md``):

- **Kernel caches.** oneDNN, which runs the convolutions and bf16 matrix products on a CPU, keeps every primitive
  it creates (a JIT-compiled kernel per operation and input shape, with its buffers) in a cache of 1,024 entries,
  and ideep, torch's wrapper around it, keeps another of its own. Both are capped at ``KERNEL_CACHE_CAPACITY``
  (``ONEDNN_PRIMITIVE_CACHE_CAPACITY``, ``LRU_CACHE_CAPACITY``); larger capacities held more.
- **Freed memory kept by malloc.** glibc keeps freed blocks for reuse; with activations of another size at every
  step, the holes between live blocks add up. ``malloc_trim(0)`` after each step hands them back.

Together they keep the peak at 16x the data near 1x's, at a few per cent more epoch time (kernels of a shape seen
before are compiled again); the figures are in ``docs/performance.md``, "Scale". Both caches read their capacity
from the environment when they are first used, so ``cap_kernel_caches`` works if it runs before the model's first
convolution or matrix product; a capacity set by the user wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import os

KERNEL_CACHE_VARIABLES = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY")
KERNEL_CACHE_CAPACITY = 8  # primitives per cache under --steady_memory: 8, 64, 256 measured (docs/performance.md)


def cap_kernel_caches(capacity: int = KERNEL_CACHE_CAPACITY) -> dict[str, str]:
    """Cap oneDNN's and ideep's primitive caches at ``capacity`` entries (each unless already set in the
    environment); returns the settings in effect, for the log."""
    if capacity < 1:
        raise ValueError(f"a kernel cache capacity must be at least 1, got {capacity} (0 would compile every "
                         f"kernel anew at every use)")
    for name in KERNEL_CACHE_VARIABLES:
        os.environ.setdefault(name, str(capacity))
    return {name: os.environ[name] for name in KERNEL_CACHE_VARIABLES}


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


@functools.cache
def _glibc_call(name: str) -> ctypes._CFuncPtr | None:
    """The C library's function ``name``, or None where the library lacks it (musl, macOS)."""
    library = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(library), name) if library else None
    except (OSError, AttributeError):
        return None


def release_free_memory() -> bool:
    """Return the memory malloc holds free to the operating system (glibc's ``malloc_trim(0)``); False where
    the C library has no such call."""
    trim = _glibc_call("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True


def malloc_in_use() -> float:
    """Bytes malloc has handed out and not had back (glibc's ``mallinfo2``: heap blocks in use plus mapped ones);
    NaN where the C library has no ``mallinfo2``. Read after an epoch, it is what outlived the steps."""
    mallinfo2 = _glibc_call("mallinfo2")
    if mallinfo2 is None:
        return math.nan
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return float(info.uordblks + info.hblkhd)
