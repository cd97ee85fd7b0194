"""Containers: Sequential (a pipeline), ModuleList and ModuleDict (indexable groups of sub-modules), ParameterList
and ParameterDict (groups of parameters)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator, Mapping

from core import _C
from core.nn.module import Module
from core.nn.parameter import Parameter


def _index(idx: int, n: int, what: str, items: str = "modules") -> int:
    if not -n <= idx < n:
        raise IndexError(f"{what}: index {idx} is out of range for {n} {items}")
    return idx % n


def _as_parameter(value: Any, what: str) -> Parameter:
    """A Parameter as is, a tensor wrapped into one (as PyTorch's parameter containers do)."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, _C.Tensor):
        return Parameter(value, requires_grad=value.dtype.is_floating_point)
    raise TypeError(f"{what}: expected a Parameter or a Tensor, got {type(value).__name__}")


class Sequential(Module):
    """Runs its modules one after another, each on the previous one's output.

    >>> net = core.nn.Sequential(core.nn.Linear(4, 8), core.nn.ReLU(), core.nn.Linear(8, 2))
    >>> net(core.randn(3, 4)).shape
    (3, 2)
    >>> core.nn.Sequential(OrderedDict([("fc", core.nn.Linear(4, 2))])).fc
    Linear(in_features=4, out_features=2, bias=True)
    """

    def __init__(self, *args: Module) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def forward(self, input: Any) -> Any:
        for module in self._modules.values():
            input = module(input)
        return input

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Module:
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(idx, len(self), "Sequential")]

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[_index(idx, len(self), "Sequential")]
        setattr(self, key, module)

    def __delitem__(self, idx: int | slice) -> None:
        keys = list(self._modules)
        for key in (keys[idx] if isinstance(idx, slice) else [keys[_index(idx, len(self), "Sequential")]]):
            del self._modules[key]
        # Renumber so that positional names stay 0..n-1, as PyTorch does.
        if all(k.isdigit() for k in keys):
            items = list(self._modules.values())
            self._modules.clear()
            for i, m in enumerate(items):
                self._modules[str(i)] = m

    def append(self, module: Module) -> Sequential:
        """Adds a module at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of sub-modules, registered so that their parameters belong to the owner.

    >>> layers = core.nn.ModuleList([core.nn.Linear(8, 8) for _ in range(3)])
    >>> len(list(layers.parameters()))
    6
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Module | ModuleList:
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self), "ModuleList"))]

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx: int | slice) -> None:
        items = list(self._modules.values())
        if isinstance(idx, slice):
            del items[idx]
        else:
            del items[_index(idx, len(self), "ModuleList")]
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def append(self, module: Module) -> ModuleList:
        """Adds a module at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Adds modules at the end; returns self."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Inserts a module before position index."""
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self.add_module(str(i), m)


class _NamedTable:
    """The dict protocol of ModuleDict and ParameterDict over one of the Module's tables (`_table`), insertion
    ordered; `_kind` names what it holds in messages. Subclasses define __setitem__ (which registers)."""

    _table = ""
    _kind = ""

    def _entries(self) -> dict:
        return self.__dict__[self._table]

    def __getitem__(self, key: str) -> Any:
        try:
            return self._entries()[key]
        except KeyError:
            raise KeyError(f"{type(self).__name__} has no {self._kind} {key!r} (keys: {list(self._entries())})") \
                from None

    def __delitem__(self, key: str) -> None:
        del self._entries()[key]

    def __len__(self) -> int:
        return len(self._entries())

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def __contains__(self, key: str) -> bool:
        return key in self._entries()

    def keys(self) -> Iterable[str]:
        """The names, in insertion order."""
        return self._entries().keys()

    def values(self) -> Iterable[Any]:
        """The entries, in insertion order."""
        return self._entries().values()

    def items(self) -> Iterable[tuple[str, Any]]:
        """(name, entry) pairs, in insertion order."""
        return self._entries().items()

    def pop(self, key: str) -> Any:
        """Removes and returns the entry under key."""
        value = self[key]
        del self._entries()[key]
        return value

    def clear(self) -> None:
        """Removes every entry."""
        self._entries().clear()

    def update(self, entries: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Adds (or replaces) entries from a mapping or from (name, entry) pairs."""
        pairs = entries.items() if isinstance(entries, Mapping) else entries
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"{type(self).__name__}.update: expected (name, {self._kind}) pairs, got {pair!r}")
            self[pair[0]] = pair[1]


class ModuleDict(_NamedTable, Module):
    """A dict of sub-modules by name (insertion ordered), registered with the owner.

    >>> heads = core.nn.ModuleDict({"cls": core.nn.Linear(8, 2), "reg": core.nn.Linear(8, 1)})
    >>> heads["reg"].out_features
    1
    """

    _table, _kind = "_modules", "module"

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)


class ParameterList(Module):
    """A list of parameters, registered with the owner under "0", "1", ... (tensors are wrapped into Parameters).

    >>> scales = core.nn.ParameterList([core.nn.Parameter(core.ones(4)) for _ in range(2)])
    >>> len(list(scales.parameters())), scales[1].shape
    (2, (4,))
    """

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())

    def __getitem__(self, idx: int | slice) -> Parameter | ParameterList:
        if isinstance(idx, slice):
            return ParameterList(list(self._parameters.values())[idx])
        return self._parameters[str(_index(idx, len(self), "ParameterList", "parameters"))]

    def __setitem__(self, idx: int, value: Any) -> None:
        self._parameters[str(_index(idx, len(self), "ParameterList", "parameters"))] = \
            _as_parameter(value, "ParameterList")

    def append(self, value: Any) -> ParameterList:
        """Adds a parameter at the end; returns self."""
        self.register_parameter(str(len(self)), _as_parameter(value, "ParameterList.append"))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Adds parameters at the end; returns self."""
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"({i}): Parameter of shape {tuple(p.shape)} ({p.dtype!r})"
                         for i, p in enumerate(self._parameters.values()))


class ParameterDict(_NamedTable, Module):
    """A dict of parameters by name (insertion ordered), registered with the owner.

    >>> gains = core.nn.ParameterDict({"text": core.nn.Parameter(core.ones(2))})
    >>> [name for name, _ in gains.named_parameters()]
    ['text']
    """

    _table, _kind = "_parameters", "parameter"

    def __init__(self, values: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.update(values)

    def __setitem__(self, key: str, value: Any) -> None:
        param = _as_parameter(value, "ParameterDict")
        if key in self._parameters:
            self._parameters[key] = param
        else:
            self.register_parameter(key, param)
