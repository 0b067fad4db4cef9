"""Events rebuilt from payloads the log checked when it wrote them.

Every event is validated (and brought to its canonical form) when it is made,
and the log stores only what :func:`negotrack.codec.encode` wrote for such an
event.  Reading that payload back through the validating converter checks
every field a second time, which costs five times the JSON parse.  The
builders here set the fields of an event directly instead, converting only
what JSON cannot hold (instants, dates, choices, stance labels, tuples), so
that a replay of the log pays for parsing, not for checking again.
:func:`maker` does the same for values assembled from such events (a record
of a row, a claim, a cell, a history entry).

They are for rows of the store alone: a payload from outside (a file, an
import) goes through :func:`negotrack.codec.structure_event`, and
:meth:`~negotrack.store.sql.SqlEventStore.verify` decodes every row with
full validation.  ``tests/test_trusted.py`` holds the property that both
paths build equal events from every payload the codec writes.
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import attrs

from negotrack.events import Event
from negotrack.model import StanceValue, stance_point

__all__ = ["builder", "maker"]

_Build = Callable[[Any], Any]
_E = TypeVar("_E", bound=Event)
_T = TypeVar("_T")


def builder(cls: type[_E]) -> Callable[[dict[str, Any]], _E]:
    """The function that builds a ``cls`` from its current-schema payload, checking nothing."""
    return _record(typing.cast("Any", cls))  # type objects hash; the cache cannot say so


def maker(cls: type[_T]) -> Callable[..., _T]:
    """The function that makes a ``cls`` from every field (no defaults), checking nothing.

    For values the store and the projections assemble from parts already
    checked (a record of a stored row, a claim of a stored event): attrs'
    ``__init__`` of a frozen class sets each field through a generic
    ``object.__setattr__``; this sets each slot directly, in half the time.
    """
    return _fields_maker(typing.cast("Any", cls))


@functools.cache
def _fields_maker(cls: Any) -> Callable[..., Any]:
    names = [field.name for field in attrs.fields(cls)]
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    arguments, lines = [*names, "_new=_new", "_cls=_cls"], ["    made = _new(_cls)"]
    for index, name in enumerate(names):
        scope[f"_slot{index}"] = _slot(cls, name)
        arguments.append(f"_slot{index}=_slot{index}")
        lines.append(f"    _slot{index}(made, {name})")
    make: Callable[..., Any] = _compiled(f"make_{cls.__name__}", arguments, lines, scope)
    return make


def _compiled(name: str, arguments: list[str], lines: list[str], scope: dict[str, Any]) -> Any:
    source = "\n".join([f"def {name}({', '.join(arguments)}):", *lines, "    return made"])
    exec(source, scope)  # noqa: S102 - made from a class's own field names
    return scope[name]


@functools.cache
def _record(cls: Any) -> _Build:
    """A builder of the attrs class ``cls`` from a JSON object holding every field.

    Its code is generated, as attrs generates ``__init__`` and cattrs its
    structuring functions: one statement per field, each storing into the
    field's slot through the slot's own setter (the one attrs' frozen
    ``__setattr__`` keeps from callers), with every name it calls bound as a
    default argument, so that no global is looked up.  That is twice as fast
    as a loop over the fields calling ``object.__setattr__``.
    """
    hints = typing.get_type_hints(cls)
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    arguments, lines = ["payload", "_new=_new", "_cls=_cls"], ["    made = _new(_cls)"]
    for index, field in enumerate(attrs.fields(cls)):
        value = f"payload[{field.name!r}]"
        # An optional value or a tuple is converted in line, not through one
        # more function call per field (three per stance event).
        shape, convert = _shape(hints[field.name])
        name = f"_convert{index}"
        if convert is not None:
            scope[name] = convert
            arguments.append(f"{name}={name}")
        if shape == "optional" and convert is not None:
            lines.append(f"    value = {value}")
            value = f"value if value is None else {name}(value)"
        elif shape == "tuple":
            value = f"tuple({value})" if convert is None else f"tuple(map({name}, {value}))"
        elif convert is not None:
            value = f"{name}({value})"
        scope[f"_slot{index}"] = _slot(cls, field.name)
        arguments.append(f"_slot{index}=_slot{index}")
        lines.append(f"    _slot{index}(made, {value})")
    build: _Build = _compiled(f"build_{cls.__name__}", arguments, lines, scope)
    return build


def _slot(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The setter of a field's slot (every attrs class of negotrack has slots)."""
    slot = getattr(cls, name)
    if not isinstance(slot, types.MemberDescriptorType):
        raise TypeError(f"{cls.__name__}.{name} is not a slot")
    setter: Callable[[Any, Any], None] = slot.__set__
    return setter


def _value(kind: Any) -> _Build | None:
    """How a JSON value becomes a field of type ``kind`` (``None``: it already is one)."""
    if kind in (str, float, bool, int):
        return None
    if kind == StanceValue:  # a label on the ordinal scale, else a point on an interval scale
        return stance_point
    if kind is datetime:
        return datetime.fromisoformat
    if kind is date:
        return date.fromisoformat
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind._value2member_map_.__getitem__
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        (inner,) = (arg for arg in args if arg is not type(None))
        return _optional(_value(inner))
    if origin is tuple:
        return _tuple(_value(args[0]))
    if attrs.has(kind) and not hasattr(kind, "__attrs_post_init__"):
        return _record(kind)
    # A value whose class checks more than its fields (an interval scale) is
    # rare in a log and keeps its own constructor.
    from negotrack.codec import converter  # noqa: PLC0415 - codec imports this module

    return functools.partial(converter.structure, cl=kind)


def _shape(kind: Any) -> tuple[str, _Build | None]:
    """Whether a field is ``optional``, a ``tuple`` or ``plain``, and how its value is converted."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        (inner,) = (arg for arg in args if arg is not type(None))
        return "optional", _value(inner)
    if origin is tuple:
        return "tuple", _value(args[0])
    return "plain", _value(kind)


def _optional(convert: _Build | None) -> _Build | None:
    if convert is None:
        return None
    return lambda value: None if value is None else convert(value)


def _tuple(convert: _Build | None) -> _Build:
    if convert is None:
        return tuple
    return lambda values: tuple(map(convert, values))
