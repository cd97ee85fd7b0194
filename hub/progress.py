"""Progress bars for long work (hashing, copying, importing), drawn by tqdm on stderr when it is a terminal."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def byte_bar(total: int, desc: str, enabled: bool | None = None) -> Iterator[Callable[[int], None]]:
    """Yields update(n_bytes_done_since_last_call). enabled=None: shown only on a terminal."""
    from tqdm import tqdm
    with tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False,
              disable=None if enabled is None else not enabled) as bar:
        yield bar.update


@contextmanager
def fraction_bar(desc: str, enabled: bool | None = None) -> Iterator[Callable[[int, int], None]]:
    """Yields report(done, total) for callers that know absolute progress (the catalog's importers)."""
    from tqdm import tqdm
    with tqdm(total=0, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False,
              disable=None if enabled is None else not enabled) as bar:
        def report(done: int, total: int) -> None:
            if bar.total != total:
                bar.total = total
            bar.update(done - bar.n)
        yield report
