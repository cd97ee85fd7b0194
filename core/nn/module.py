"""Module: the base class of every layer and model, with PyTorch's attribute registration and state dicts."""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

import core
from core import _C
from core.hooks import RemovableHandle, add_hook
from core.nn.parameter import Parameter

Tensor = _C.Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class StateDictMismatch(RuntimeError):
    """load_state_dict was given tensors that do not fit the module: missing or unexpected keys (strict), a shape
    that differs, a value that is not a tensor or whose dtype cannot become the parameter's. A RuntimeError, as in
    PyTorch; the offending names are in missing_keys, unexpected_keys and mismatched_keys.

    >>> try:
    ...     model.load_state_dict(checkpoint)
    ... except core.nn.StateDictMismatch as exc:
    ...     exc.missing_keys, exc.mismatched_keys
    (['head.bias'], ['encoder.weight'])
    """

    def __init__(self, module: str, problems: list[str], missing_keys: Iterable[str] = (),
                 unexpected_keys: Iterable[str] = (), mismatched_keys: Iterable[str] = ()) -> None:
        super().__init__(f"Error(s) in loading state_dict for {module}:\n\t" + "\n\t".join(problems))
        self.missing_keys = list(missing_keys)
        self.unexpected_keys = list(unexpected_keys)
        self.mismatched_keys = list(mismatched_keys)


def _hook_name(hook: Any) -> str:
    return repr(getattr(hook, "__qualname__", type(hook).__name__))


def _indent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    return "\n".join([lines[0]] + [" " * spaces + line for line in lines[1:]])


def clear_grads(params: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Sets each parameter's .grad to None, or fills it with zeros (set_to_none=False); parameters without one are
    left alone. Shared by Module.zero_grad and Optimizer.zero_grad."""
    for p in params:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            with core.no_grad():
                p.grad.zero_()


class Module:
    """Base class of layers and models: subclasses assign Parameters, buffers and sub-Modules in `__init__` and
    compute in `forward`; calling the module runs `forward`.

    >>> class Net(core.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = core.nn.Linear(4, 2)
    ...     def forward(self, x):
    ...         return self.fc(x).relu()
    >>> [name for name, _ in Net().named_parameters()]
    ['fc.weight', 'fc.bias']
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks_with_kwargs", set())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks_with_kwargs", set())

    # ------------------------------------------------------------------------------------------ forward

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of this module; subclasses override it."""
        raise NotImplementedError(f"{type(self).__name__} has no forward(); subclasses of Module must define it")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._forward_pre_hooks or self._forward_hooks:  # has_forward_hooks(self), inlined: every call passes here
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        for key, hook in list(self._forward_pre_hooks.items()):
            if key in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise TypeError(f"forward pre-hook {_hook_name(hook)} registered with_kwargs=True must "
                                        f"return None or a tuple (new_args, new_kwargs), got {result!r}")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for key, hook in list(self._forward_hooks.items()):
            if key in self._forward_hooks_with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    # ------------------------------------------------------------------------------------------ hooks

    def register_forward_pre_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Calls `hook(module, args)` before every forward; a result other than None replaces the positional
        arguments (a tuple, or one value). With `with_kwargs=True` the hook is `hook(module, args, kwargs)` and may
        return `(new_args, new_kwargs)`. Hooks run in registration order (`prepend=True` puts this one first);
        they are not part of the state dict. Returns a handle whose `remove()` unregisters the hook.

        >>> handle = model.register_forward_pre_hook(lambda module, args: (args[0].float(),))
        >>> handle.remove()
        """
        return add_hook(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs, hook, prepend=prepend,
                        kwargs=with_kwargs, who="register_forward_pre_hook")

    def register_forward_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                              with_kwargs: bool = False) -> RemovableHandle:
        """Calls `hook(module, args, output)` after every forward (args as the pre-hooks left them); a result
        other than None replaces the output. With `with_kwargs=True` the hook is `hook(module, args, kwargs,
        output)`. Order, `prepend` and the returned handle as in register_forward_pre_hook.

        >>> feats = {}
        >>> model.encoder.register_forward_hook(lambda module, args, output: feats.update(enc=output))
        """
        return add_hook(self._forward_hooks, self._forward_hooks_with_kwargs, hook, prepend=prepend,
                        kwargs=with_kwargs, who="register_forward_hook")

    # ------------------------------------------------------------------------------------------ registration

    def _check_init(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call; "
                                 f"call super().__init__() first in {type(self).__name__}.__init__")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Adds a parameter (or None, a declared but absent parameter such as a disabled bias) under `name`."""
        self._check_init("parameters")
        self._check_name(name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} as parameter {name!r}: "
                            "wrap it in core.nn.Parameter (or use register_buffer)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Adds a tensor that is state but not learnable (running statistics, fixed tables).

        Persistent buffers are saved by `state_dict()`; non-persistent ones only follow `to(dtype)`.
        """
        self._check_init("buffers")
        self._check_name(name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign {type(tensor).__name__} as buffer {name!r}: a Tensor or None is required")
        if isinstance(tensor, Parameter):
            raise TypeError(f"cannot register parameter {name!r} as a buffer; use register_parameter")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Adds a child module under `name` (also reachable as an attribute)."""
        self._check_init("child modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module", self._modules)
        self._modules[name] = module

    register_module = add_module

    def _check_name(self, name: str, kind: str, own: dict) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f"{kind} name must be non-empty and contain no '.', got {name!r}")
        if hasattr(self, name) and name not in own:
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            self._check_init("parameters")
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._check_init("child modules")
            self._forget(name)
            self._modules[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(core.nn.Parameter or None expected)")
            params[name] = None
        elif self.__dict__.get("_modules") is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} "
                                "(a Module or None expected)")
            self._modules[name] = None
        elif self.__dict__.get("_buffers") is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} (a Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        self.__dict__.pop(name, None)
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    # ------------------------------------------------------------------------------------------ traversal

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """Every module of the tree (this one first, as ""), each once, with its dotted name."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """Every module of the tree, this one first."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their attribute names, each once."""
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        for _, child in self.named_children():
            yield child

    def _named_members(self, table: str, prefix: str, recurse: bool,
                       remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for every parameter, shared ones once.

        >>> [n for n, _ in core.nn.Linear(2, 3).named_parameters()]
        ['weight', 'bias']
        """
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter of the tree (or of this module only, with recurse=False), shared ones once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) for every buffer, persistent or not."""
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer of the tree."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The module at a dotted path ("" is this module)."""
        module = self
        if target == "":
            return module
        for i, part in enumerate(target.split(".")):
            child = module._modules.get(part)
            if child is None:
                where = ".".join(target.split(".")[:i]) or type(self).__name__
                raise AttributeError(f"get_submodule: {where} has no submodule {part!r} (path {target!r})")
            module = child
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at a dotted path ("encoder.0.weight")."""
        return self._get_member(target, "_parameters", "parameter")

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at a dotted path ("norm.running_mean")."""
        return self._get_member(target, "_buffers", "buffer")

    def _get_member(self, target: str, table: str, kind: str) -> Any:
        path, _, name = target.rpartition(".")
        owner = self.get_submodule(path)
        value = getattr(owner, table).get(name)
        if value is None:
            raise AttributeError(f"get_{kind}: {path or type(self).__name__} has no {kind} {name!r} (path {target!r})")
        return value

    # ------------------------------------------------------------------------------------------ modes

    def train(self, mode: bool = True) -> Module:
        """Sets training mode (dropout active) on this module and all below it; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
            m.__dict__.pop("_packed", None)  # a packed inference weight is re-made from the current values
        return self

    def eval(self) -> Module:
        """Sets evaluation mode (dropout off); same as train(False). Returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Turns gradient recording on or off for every parameter; returns self (for freezing layers)."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Calls fn on every sub-module (children first, then self), e.g. for custom initialisation; returns self.

        >>> net.apply(lambda m: core.nn.init.zeros_(m.bias) if isinstance(m, core.nn.Linear) else None)
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clears the .grad of every parameter (to None by default, else fills it with zeros)."""
        clear_grads(self.parameters(), set_to_none)

    # ------------------------------------------------------------------------------------------ dtypes

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Converts floating point parameters and buffers to a dtype (`to(core.float64)`, `to("cpu")`); returns self.

        Parameters are replaced by new Parameter objects of the new dtype (gradients dropped), so build the
        optimizer after converting.
        """
        dtype = kwargs.get("dtype")
        device = kwargs.get("device")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str):
                device = a
            else:
                dtype = a
        if device not in (None, "cpu"):
            raise ValueError(f"Module.to: zoohub runs on the CPU only, got device {device!r}")
        if dtype is None:
            return self
        dtype = core._tensor._check_dtype(dtype)
        if not dtype.is_floating_point:
            raise TypeError(f"Module.to: only floating point dtypes are allowed, got {dtype!r}")
        return self._apply_dtype(dtype)

    def _apply_dtype(self, dtype: core.dtype) -> Module:
        for m in self.modules():
            for name, p in m._parameters.items():
                if p is not None and p.dtype.is_floating_point and p.dtype != dtype:
                    m._parameters[name] = Parameter(p.detach().to(dtype), requires_grad=p.requires_grad)
            for name, b in m._buffers.items():
                if b is not None and b.dtype.is_floating_point and b.dtype != dtype:
                    m._buffers[name] = b.to(dtype)
        return self

    def float(self) -> Module:
        """Floating point parameters and buffers to float32."""
        return self._apply_dtype(core.float32)

    def double(self) -> Module:
        """Floating point parameters and buffers to float64."""
        return self._apply_dtype(core.float64)

    def half(self) -> Module:
        """Floating point parameters and buffers to float16."""
        return self._apply_dtype(core.float16)

    def bfloat16(self) -> Module:
        """Floating point parameters and buffers to bfloat16."""
        return self._apply_dtype(core.bfloat16)

    def cpu(self) -> Module:
        """The CPU is the only device: returns self."""
        return self

    # ------------------------------------------------------------------------------------------ state dicts

    def state_dict(self, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name, detached (sharing memory with the module).

        >>> sd = model.state_dict(); core.io.save(sd, "model.safetensors")
        """
        out = OrderedDict() if destination is None else destination
        # a submodule used at two paths is saved at both, as PyTorch's recursive state_dict does
        for mod_prefix, module in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            base = f"{mod_prefix}." if mod_prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[base + name] = p if keep_vars else p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent_buffers_set:
                    out[base + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> IncompatibleKeys:
        """Copies tensors (or numpy arrays) into the parameters and persistent buffers with the same names.

        strict=True (default) refuses missing and unexpected keys; a shape mismatch is refused always. Nothing
        is copied unless every check passes. Values are converted to each parameter's dtype; with assign=True
        the module takes the given tensors themselves (sharing memory, e.g. with a memory-mapped file), so a
        parameter that requires grad needs a floating point one. Returns (missing_keys, unexpected_keys); what does
        not fit raises StateDictMismatch (a RuntimeError) naming every problem.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping of names to tensors, got {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors, mismatched = [], []
        values = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            problem, value = self._fit(key, state_dict[key], target, assign)
            if problem is not None:
                errors.append(problem)
                mismatched.append(key)
                continue
            values[key] = value
        if strict:
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(repr(k) for k in missing))
            if unexpected:
                errors.insert(0 if not missing else 1,
                              "Unexpected key(s) in state_dict: " + ", ".join(repr(k) for k in unexpected))
        if errors:  # not strict, missing and unexpected keys are reported by the return value, not refused
            raise StateDictMismatch(type(self).__name__, errors, missing if strict else (),
                                    unexpected if strict else (), mismatched)
        with core.no_grad():
            for key, value in values.items():
                owner_path, _, name = key.rpartition(".")
                owner = self.get_submodule(owner_path)
                if assign:
                    if name in owner._parameters:
                        owner._parameters[name] = Parameter(value, requires_grad=owner._parameters[name].requires_grad)
                    else:
                        owner._buffers[name] = value
                else:
                    own[key].copy_(value)
        for m in self.modules():
            m.__dict__.pop("_packed", None)  # weights changed in place: packed copies are stale
        return IncompatibleKeys(missing, unexpected)

    @staticmethod
    def _fit(key: str, value: Any, target: Tensor, assign: bool) -> tuple[str | None, Any]:
        """(what is wrong, None) when value cannot take target's place, else (None, value as a Tensor)."""
        if isinstance(value, np.ndarray):
            try:
                value = core.as_tensor(value)
            except TypeError:
                return f"dtype mismatch for {key}: numpy dtype {value.dtype} has no core dtype", None
        if not isinstance(value, Tensor):
            return f"value of {key!r} is a {type(value).__name__}, not a Tensor", None
        if tuple(value.shape) != tuple(target.shape):
            return (f"size mismatch for {key}: copying a param with shape {tuple(value.shape)} from the checkpoint, "
                    f"the shape in the current model is {tuple(target.shape)}"), None
        if assign and isinstance(target, Parameter) and target.requires_grad and not value.dtype.is_floating_point:
            return (f"dtype mismatch for {key}: cannot assign a {value.dtype} tensor to a parameter that requires "
                    f"grad (it needs a floating point dtype, the current model's is {target.dtype})"), None
        return None, value

    # ------------------------------------------------------------------------------------------ copying

    def __getstate__(self) -> dict[str, Any]:
        """What pickle and copy.deepcopy copy: everything but the packed inference weight (core.nn.linear), which
        belongs to the original's weight tensors and is packed again from the copy's own on first use.

        >>> twin = copy.deepcopy(model)  # independent parameters with equal values
        """
        state = dict(self.__dict__)
        state.pop("_packed", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restores a copied or unpickled module. One pickled before modules had forward hooks gets empty hook
        tables, so it can be called."""
        self.__dict__.update(state)
        for name, empty in (("_forward_pre_hooks", OrderedDict), ("_forward_pre_hooks_with_kwargs", set),
                            ("_forward_hooks", OrderedDict), ("_forward_hooks_with_kwargs", set)):
            if name not in self.__dict__:
                object.__setattr__(self, name, empty())

    # ------------------------------------------------------------------------------------------ printing

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in repr(); layers override it with their settings."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, child in self._modules.items():
            lines.append(f"({name}): " + _indent(repr(child), 2))
        if not self._modules:
            return f"{self._get_name()}({extra})"
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))


def has_forward_hooks(*modules: Module) -> bool:
    """Whether any of `modules` has a forward hook or pre-hook: code that fuses a module's work into another
    kernel (an activation or a skip connection in a GEMM epilogue) calls such a module plainly instead, so that its
    hooks see what they would see in a model written op by op."""
    return any(m._forward_pre_hooks or m._forward_hooks for m in modules)
