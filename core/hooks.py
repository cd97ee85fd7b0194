"""RemovableHandle: what Tensor.register_hook and Module.register_forward_(pre_)hook return to take a hook off."""
from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict
from typing import Any, Callable

_ids = itertools.count()


class RemovableHandle:
    """Takes one registered hook off again: `handle.remove()` (a second call does nothing), or leaving a
    `with handle:` block. Holding the handle does not keep the module or tensor alive.

    >>> handle = model.register_forward_hook(lambda module, args, output: print(output.shape))
    >>> handle.remove()
    """

    def __init__(self, remove: Callable[[], None], id: int) -> None:
        self._remove: Callable[[], None] | None = remove
        self.id = id

    def remove(self) -> None:
        """Unregisters the hook; nothing happens if it is already gone."""
        if self._remove is not None:
            self._remove()
            self._remove = None

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def add_hook(hooks: OrderedDict[int, Any], with_kwargs: set[int], hook: Callable, *, prepend: bool,
             kwargs: bool, who: str) -> RemovableHandle:
    """Puts hook into a module's ordered table (first with prepend), marks it in with_kwargs when it takes the
    keyword arguments too, and returns the handle that takes it out of both."""
    if not callable(hook):
        raise TypeError(f"{who}: hook must be callable, got {type(hook).__name__}")
    key = next(_ids)
    hooks[key] = hook
    if prepend:
        hooks.move_to_end(key, last=False)
    if kwargs:
        with_kwargs.add(key)
    table, flags = weakref.ref(hooks), weakref.ref(with_kwargs)

    def remove() -> None:
        held, marked = table(), flags()
        if held is not None:
            held.pop(key, None)
        if marked is not None:
            marked.discard(key)
    return RemovableHandle(remove, key)
