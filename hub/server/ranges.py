"""HTTP Range requests (RFC 9110 §14): one byte range per request, which is what resuming downloads send."""
from __future__ import annotations

import re

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class UnsatisfiableRange(ValueError):
    """A Range the file cannot serve (416)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive byte positions asked for, or None for the whole file.

    A header this server does not understand (several ranges, other units) is ignored, as RFC 9110 allows:
    the whole file is sent with 200.

    >>> parse_range("bytes=100-", 1000)
    (100, 999)
    >>> parse_range("bytes=-10", 1000)
    (990, 999)
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    start, end = match.groups()
    if not start and not end:
        return None
    if not start:
        suffix = int(end)
        if suffix == 0 or size == 0:
            raise UnsatisfiableRange(f"bytes=-{suffix} of a {size}-byte file")
        return max(0, size - suffix), size - 1
    first = int(start)
    last = min(int(end), size - 1) if end else size - 1
    if first >= size or (end and int(end) < first):
        raise UnsatisfiableRange(f"{header} of a {size}-byte file")
    return first, last
