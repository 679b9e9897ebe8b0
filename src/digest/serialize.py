"""Dataclasses to JSON-ready values and back, driven by their type hints.

Used for the store's JSON columns and for every ``--json`` the CLI prints, so that what is
stored and what is shown are the same shape.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any, Literal, TypeVar, get_args, get_origin

__all__ = ["dumps", "from_jsonable", "loads", "to_jsonable"]

T = TypeVar("T")


def to_jsonable(obj: Any) -> Any:
    """Dataclasses become dicts, tuples lists, datetimes ISO 8601 strings."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    return obj


def from_jsonable(cls: type[T], data: Any) -> T:
    """The inverse of ``to_jsonable`` for a dataclass type."""
    return typing.cast(T, _load(cls, data))


def dumps(obj: Any, *, indent: int | None = None) -> str:
    return json.dumps(to_jsonable(obj), ensure_ascii=False, indent=indent)


def loads(cls: type[T], text: str) -> T:
    return from_jsonable(cls, json.loads(text))


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _load(hint: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = get_origin(hint)
    args = get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _load(inner[0], data)
    if origin is Literal or hint is Any:
        return data
    if origin is tuple:
        return tuple(_load(args[0], v) for v in data)
    if origin in (Mapping, dict):
        return {k: _load(args[1], v) for k, v in data.items()}
    if dataclasses.is_dataclass(hint):
        hints = _hints(hint)  # type: ignore[arg-type]
        kwargs = {k: _load(hints[k], v) for k, v in data.items() if k in hints}
        return typing.cast(Any, hint)(**kwargs)
    if hint is datetime:
        return datetime.fromisoformat(data)
    if hint is date:
        return date.fromisoformat(data)
    if hint is float:
        return float(data)
    return data
