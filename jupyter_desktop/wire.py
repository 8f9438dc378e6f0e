"""Session operations over the wire, written once: the Protocol's signature is the contract.

Every operation of :class:`~jupyter_desktop.protocols.DesktopSession` whose arguments and result can be JSON (read
from its annotations) can be called through the Jupyter server's one generic route,
``POST {base}desktop/api/desktops/<id>/call/<op>`` with ``{"args": {...}}``, answered ``{"result": ...}``
(``GET .../call`` lists them with their parameters). The kernel's ``RemoteSession`` forwards every such operation
it does not implement itself (over RFB, or on a dedicated REST route) to that route. So a new operation is the
Protocol's signature, the in-process ``Session``'s implementation and, for users, a ``Desktop`` method: no
handler, no request body built on one side and taken apart on the other.

Arguments are checked against the annotations here, on both sides (a wrong type is an ``InvalidInputError``
naming the parameter, never a TypeError deep in the session); results travel through the wire types' codecs
(``RunResult``, ``Window``, a launched process).
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from PIL import Image

from .backends.base import LaunchedProcess, RunResult
from .errors import InvalidInputError
from .protocols import LOCAL_ONLY, DesktopSession
from .xtools import Window

__all__ = ["operations", "check_args", "encode_result", "decode_result", "describe"]

_ATOMS = (str, int, float, bool, type(None))


@functools.cache
def _hints(name: str) -> dict[str, Any]:
    return typing.get_type_hints(getattr(DesktopSession, name))


def _encodable(tp: Any) -> bool:
    if tp is Any or tp in _ATOMS or tp in (RunResult, Window, LaunchedProcess):
        return True
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_encodable(a) for a in args)  # a bytes branch is simply not used on the wire
    if origin in (list, collections.abc.Sequence, tuple):
        return all(_encodable(a) for a in args if a is not Ellipsis)
    if origin in (dict, collections.abc.Mapping):
        return args[0] is str and _encodable(args[1])
    return False


@functools.cache
def operations() -> dict[str, inspect.Signature]:
    """The operations callable over the wire, by name: async, not local-only, JSON in and out."""
    found = {}
    for name, function in vars(DesktopSession).items():
        if name.startswith("_") or name in LOCAL_ONLY or not inspect.iscoroutinefunction(function):
            continue
        hints = _hints(name)
        if all(_encodable(tp) for tp in hints.values()):
            found[name] = inspect.signature(function)
    return found


def _signature(op: str) -> inspect.Signature:
    try:
        return operations()[op]
    except KeyError:
        raise InvalidInputError(f"no operation {op!r:.80}; the operations are {', '.join(sorted(operations()))}") from None


def _conforms(value: Any, tp: Any) -> bool:
    if tp is Any:
        return True
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp in (str, type(None)):
        return isinstance(value, tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, a) for a in args)
    if origin in (list, collections.abc.Sequence):
        return isinstance(value, (list, tuple)) and all(_conforms(v, args[0]) for v in value)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return isinstance(value, (list, tuple)) and all(_conforms(v, args[0]) for v in value)
        return isinstance(value, (list, tuple)) and len(value) == len(args) and all(map(_conforms, value, args))
    if origin in (dict, collections.abc.Mapping):
        return isinstance(value, Mapping) and all(isinstance(k, str) and _conforms(v, args[1]) for k, v in value.items())
    return False


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "None"
    if typing.get_origin(tp) is None and hasattr(tp, "__name__"):
        return tp.__name__
    return str(tp).replace("typing.", "").replace("collections.abc.", "").replace("NoneType", "None")


def check_args(op: str, args: Any, positional: tuple[Any, ...] = ()) -> dict[str, Any]:
    """The arguments of ``op`` by name (positional ones bound as the signature says), each checked against its
    annotation. Raises InvalidInputError for an unknown operation, a missing, unknown or mistyped argument."""
    signature = _signature(op)
    if not isinstance(args, Mapping):
        raise InvalidInputError(f"the arguments of {op} are a JSON object, not {type(args).__name__}")
    try:
        bound = signature.bind(None, *positional, **args)  # None: self
    except TypeError as exc:
        raise InvalidInputError(f"{op}{str(signature).replace('(self, ', '(', 1)}: {exc}") from None
    hints = _hints(op)
    out = {}
    for name, value in list(bound.arguments.items())[1:]:
        if not _conforms(value, hints[name]):
            raise InvalidInputError(f"{op}: {name} must be {_type_name(hints[name])}, not {value!r:.80}")
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def _encode(value: Any) -> Any:
    if isinstance(value, (RunResult, Window, LaunchedProcess)):
        return value.to_json()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, Image.Image):  # no operation returns one over the wire (operations() filters them)
        raise TypeError("an image does not travel as JSON")
    return value


def encode_result(op: str, value: Any) -> Any:
    return _encode(value)


def decode_result(op: str, data: Any, process: Callable[[Mapping[str, Any]], Any]) -> Any:
    """``op``'s result from its JSON; ``process(data)`` makes a launched process (the kernel's RemoteProcess)."""

    def decode(tp: Any, value: Any) -> Any:
        if value is None:
            return None
        if tp is RunResult:
            return RunResult.from_json(value)
        if tp is Window:
            return Window.from_json(value)
        if tp is LaunchedProcess:
            return process(value)
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            branches = [a for a in args if a is not type(None)]
            return decode(branches[0], value) if len(branches) == 1 else value
        if origin in (list, collections.abc.Sequence):
            return [decode(args[0], v) for v in value]
        if origin is tuple:
            return tuple(value)
        return value

    return decode(_hints(op).get("return", Any), data)


def describe() -> list[dict[str, Any]]:
    """The operations and their parameters, for ``GET .../call``."""
    out = []
    for name, signature in sorted(operations().items()):
        hints = _hints(name)
        params = [
            {
                "name": p.name,
                "type": _type_name(hints[p.name]),
                "required": p.default is inspect.Parameter.empty,
                **({} if p.default is inspect.Parameter.empty else {"default": _encode(p.default)}),
            }
            for p in list(signature.parameters.values())[1:]
        ]
        out.append({"op": name, "parameters": params, "returns": _type_name(hints.get("return", Any))})
    return out
