"""Giving a memory-mapped tensor's file pages back to the page cache once the process no longer reads them.

`core.io.load_file` maps the file copy-on-write: a page the process reads stays in its resident set (RSS) for
as long as the map lives. Once inference has re-laid a weight into a buffer of its own (core.nn.Linear's packed
copy), those pages are a second copy that only costs memory. `release_file_pages` unmaps the pages that are
still clean pages of the file (madvise MADV_DONTNEED); a later read faults the same bytes back in from the page
cache, so the tensor's values never change. Pages written in place (the process's private copies), ordinary
memory, and anything on a system without /proc/self/pagemap are left as they are.
"""
from __future__ import annotations

import ctypes
import mmap
import sys

import numpy as np

from core import _C

Tensor = _C.Tensor

_PAGE = mmap.PAGESIZE
_PRESENT = np.uint64(1 << 63)
_FILE_OR_SHARED = np.uint64(1 << 61)  # clear for a private copy made by a write (an anonymous page)
_MADV_DONTNEED = 4


def _madvise() -> ctypes._CFuncPtr:
    fn = ctypes.CDLL(None, use_errno=True).madvise
    fn.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    fn.restype = ctypes.c_int
    return fn


_madvise_fn = _madvise() if sys.platform == "linux" else None


def release_file_pages(tensor: Tensor) -> int:
    """Unmaps the resident clean file pages inside a contiguous tensor's memory; returns the bytes released.

    The values stay the same: the next read of a released page maps it again from the page cache. Only
    whole pages inside the tensor are considered, so neighbouring tensors of the same file keep theirs.
    Returns 0 for non-contiguous tensors, for memory that is not a file map, and off Linux.

    >>> w = core.io.load_file("model.safetensors")["decoder.token_embedding.weight"]
    >>> packed = core._C.pack_linear_weight(w)   # reads every page of w
    >>> core.io.release_file_pages(w)            # ... which no longer need to stay resident
    79659008
    """
    if _madvise_fn is None or not tensor.is_contiguous() or tensor.numel() == 0:
        return 0
    start = tensor.data_ptr()
    first = -(-start // _PAGE)
    last = (start + tensor.numel() * tensor.element_size()) // _PAGE
    if last <= first:
        return 0
    try:
        with open("/proc/self/pagemap", "rb") as f:
            f.seek(first * 8)
            entries = np.frombuffer(f.read((last - first) * 8), dtype="<u8")
    except OSError:
        return 0
    # A write by another thread between this read and the madvise would be dropped: the caller owns the tensor
    # (as Linear does while packing it), like any in-place op.
    clean = (entries & (_PRESENT | _FILE_OR_SHARED)) == (_PRESENT | _FILE_OR_SHARED)
    # runs of releasable pages: where `clean` switches on and off
    edges = np.flatnonzero(np.diff(np.concatenate(([False], clean, [False])).astype(np.int8)))
    released = 0
    for begin, end in zip(edges[0::2].tolist(), edges[1::2].tolist()):
        length = (end - begin) * _PAGE
        # a failure (e.g. locked pages) only leaves the pages resident, so it is not an error
        if _madvise_fn((first + begin) * _PAGE, length, _MADV_DONTNEED) == 0:
            released += length
    return released
