"""What a pydantic ValidationError means in words: each problem with the key it concerns, the keys a table
accepts, and the expected type written for people. Callers (pipeline profiles, project settings, the
`translate` input) turn these into their own typed errors: a user never sees a pydantic traceback.
Qt-free; imports only pydantic.
"""

from __future__ import annotations

import collections.abc as cabc
import pathlib
import types
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, StringConstraints, ValidationError
from pydantic.fields import FieldInfo

DEVICE_PATTERN = r"^(auto|cpu|cuda(:[0-9]+)?)$"
Device = Annotated[str, StringConstraints(pattern=DEVICE_PATTERN)]  # auto | cpu | cuda | cuda:N

_NOUN = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
_PLURAL = {int: "integers", float: "numbers", str: "strings", bool: "true/false values"}
_LIMITS = {  # pydantic error type -> (ctx key, operator)
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", ">="),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "<="),
}
_PATTERN_TEXT = {DEVICE_PATTERN: "must be auto, cpu, cuda or cuda:N"}
_VALUE_TEXT = {
    "too_short": "needs at least {min_length} item(s)",
    "too_long": "takes at most {max_length} item(s)",
    "string_pattern_mismatch": "must match {pattern}",
}


@dataclass
class Problem:
    """One thing wrong with ``key`` of the table at ``table`` (keys from the root; () = the root itself).

    kind: "unknown" (``keys`` not accepted, ``valid`` what is; ``key`` is ""), "missing", "type" (``text``:
    "must be ..."), "value" (a limit or a rule; ``text`` says which, ``limit`` = (operator, bound) for a
    numeric limit)."""

    kind: str
    table: tuple[str | int, ...]  # keys, and list indexes (from 0) where a list of tables is crossed
    key: str = ""
    text: str = ""
    value: Any = None
    keys: list[str] = field(default_factory=list)
    valid: list[str] = field(default_factory=list)
    limit: tuple[str, Any] | None = None
    title: str = ""  # the field's title, when the model gives one
    type: str = ""  # pydantic's error type ("too_short", "float_type", ...)


def _unwrap(annotation: Any) -> Any:
    """``X`` of ``Annotated[X, ...]``."""
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> tuple[Any, ...]:
    a = _unwrap(annotation)
    if typing.get_origin(a) in (typing.Union, types.UnionType):
        return tuple(_unwrap(m) for m in typing.get_args(a))
    return (a,)


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a field that is a table (``Model`` or ``Model | None``), else None."""
    models = [m for m in _members(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]
    return models[0] if len(models) == 1 else None


_LISTS = (list, tuple, set, frozenset, cabc.Sequence, cabc.Set, cabc.Collection)
_TABLES = (dict, cabc.Mapping, cabc.MutableMapping)


def _plural(annotation: Any) -> str:
    """``int`` -> "integers", ``list[str]`` -> "lists of strings", ``dict[str, int]`` -> "tables of integers"."""
    members = [m for m in _members(annotation) if m is not type(None)]
    if len(members) != 1:
        return "values"
    a = members[0]
    origin, args = typing.get_origin(a), typing.get_args(a)
    if a in _PLURAL:
        return _PLURAL[a]
    if isinstance(a, type) and issubclass(a, BaseModel):
        return "tables"
    if origin in _LISTS or a is list:
        return f"lists of {_plural(args[0])}" if args and args[0] is not Any else "lists"
    if origin in _TABLES or a in (dict, cabc.Mapping):
        return f"tables of {_plural(args[1])}" if len(args) == 2 and args[1] is not Any else "tables"
    return "values"


def type_name(annotation: Any) -> str:
    """``float`` -> "a number", ``list[str] | None`` -> "a list of strings", ``Literal["a", "b"]`` -> ..."""
    members = [m for m in _members(annotation) if m is not type(None)]
    if len(members) > 1:
        return " or ".join(dict.fromkeys(type_name(m) for m in members))
    a = members[0] if members else type(None)
    origin, args = typing.get_origin(a), typing.get_args(a)
    if a in _NOUN:
        return _NOUN[a]
    if a is type(None):
        return "nothing"
    if isinstance(a, type) and issubclass(a, pathlib.PurePath):
        return "a path"
    if origin is Literal:
        return "one of " + ", ".join(repr(v) for v in args)
    if isinstance(a, type) and issubclass(a, BaseModel):
        return "a table"
    if origin in _LISTS or a is list:
        return f"a list of {_plural(args[0])}" if args and args[0] is not Any else "a list"
    if origin in _TABLES or a in (dict, cabc.Mapping):
        return f"a table of {_plural(args[1])}" if len(args) == 2 and args[1] is not Any else "a table"
    if a is Any:
        return "any value"
    return f"a {getattr(a, '__name__', str(a))}"


def list_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a field that is a list of tables (``list[Model]``), else None."""
    for m in _members(annotation):
        if typing.get_origin(m) in (list, cabc.Sequence) and typing.get_args(m):
            item = nested_model(typing.get_args(m)[0])
            if item is not None:
                return item
    return None


def _walk(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[type[BaseModel], FieldInfo | None, Any, int]:
    """(the deepest table loc reaches, the last field met, the type at the end of the way, how many loc parts
    lead there), going down through tables and lists of tables."""
    info: FieldInfo | None = None
    annotation: Any = None
    n = i = 0
    while i < len(loc):
        fields = {f.alias or k: f for k, f in model.model_fields.items()}
        found = fields.get(loc[i]) if isinstance(loc[i], str) else None
        if found is None:
            break
        info, annotation, n = found, found.annotation, i + 1
        inner, item = nested_model(found.annotation), list_model(found.annotation)
        if inner is not None:
            model, i = inner, i + 1
        elif item is not None and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            model, annotation, n, i = item, item, i + 2, i + 2
        else:
            break
    return model, info, annotation, n


def _keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _lookup(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def problems(exc: ValidationError, model: type[BaseModel], data: Any = None) -> list[Problem]:
    """The problems of ``exc`` (raised validating ``data`` with ``model``), one per key, in order."""
    out: dict[tuple[str, tuple[Any, ...], str], Problem] = {}
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind, ctx = err["type"], err.get("ctx") or {}
        if kind == "extra_forbidden":
            owner = _walk(model, loc[:-1])[0]
            table = loc[:-1]
            p = out.setdefault(("unknown", table, ""), Problem("unknown", table, valid=_keys(owner)))
            p.keys.append(str(loc[-1]))
            continue
        _, info, annotation, n = _walk(model, loc)
        path = loc[: max(n, 1)]
        value = _lookup(data, loc[: max(n, 1)]) if data is not None else err.get("input")
        base = {"table": path[:-1], "key": str(path[-1]) if path else "", "value": value}
        base["title"] = (info.title or "") if info is not None else ""
        base["type"] = kind
        if kind == "missing":
            expected = f" ({type_name(annotation)})" if info is not None else ""
            problem = Problem("missing", text=f"is missing{expected}", **base)
        elif kind in _LIMITS:
            bound_key, op = _LIMITS[kind]
            bound = ctx[bound_key]
            problem = Problem("value", text=f"must be {op} {bound}", limit=(op, bound), **base)
        elif kind == "string_pattern_mismatch":
            described = f"must be {info.description}" if info is not None and info.description else ""
            pattern = str(ctx.get("pattern", ""))
            text = _PATTERN_TEXT.get(pattern) or described or f"must match {pattern}"
            problem = Problem("value", text=text, **base)
        elif kind in _VALUE_TEXT:
            problem = Problem("value", text=_VALUE_TEXT[kind].format(**ctx), **base)
        elif kind in ("value_error", "assertion_error"):
            problem = Problem("value", text=str(ctx.get("error", err["msg"])), **base)
        else:  # a wrong type (or a union none of whose members fit)
            text = f"must be {type_name(annotation)}" if info is not None else err["msg"].lower()
            problem = Problem("type", text=text, **base)
        out.setdefault((problem.kind, problem.table, problem.key), problem)
    return list(out.values())
