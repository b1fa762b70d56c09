"""Configs as dataclasses, built from plain data (YAML, JSON) with strict types.

One builder for every config the toolkit reads (model, stage, curriculum, demo presets, rubric,
cohort): an unknown key, a missing required key or a value of the wrong type raises `ConfigError`
as `FILE: dotted.key: problem`, so a typo never runs with a default. Supported field types: bool,
int, float (an int is accepted), str, Any, Literal, X | None and other unions, list[X], dict[K, X]
and nested dataclasses. A field with `metadata={"internal": True}` is set by code, never read or
written here.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from typing import Any, Literal, TypeVar

from retinavlm.errors import ConfigError
from retinavlm.yaml_files import read_yaml_mapping

T = TypeVar("T")


def from_dict(cls: type[T], data: Any, source: str | os.PathLike = "", error: type[ConfigError] = ConfigError) -> T:
    """Dataclass `cls` built from `data`; errors name `source` (the file it came from) and the key.

    `error` is the ConfigError subclass raised, so a caller can tell which kind of file was wrong.
    """
    try:
        return _build(cls, data, "")
    except ConfigError as exc:
        exc = exc.within(source=source)
        raise error(exc.problem, exc.key, exc.source) from None


def load(cls: type[T], path: str | os.PathLike, what: str = "config file", error: type[ConfigError] = ConfigError) -> T:
    """Dataclass `cls` from the YAML mapping at `path`."""
    return from_dict(cls, read_yaml_mapping(path, error, what), path, error)


def to_dict(obj: Any) -> Any:
    """Plain data (dicts, lists, scalars) for a dataclass tree, without its internal fields."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj) if not _internal(f)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def _internal(f: dataclasses.Field) -> bool:
    return bool(f.metadata.get("internal"))


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping, got {_describe(data)}", where)
    fields = {f.name: f for f in dataclasses.fields(cls) if not _internal(f)}
    unknown = sorted(map(str, set(data) - set(fields)))
    if unknown:
        raise ConfigError(f"unknown key; allowed here: {', '.join(fields)}", _join(where, unknown[0]))
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], _join(where, name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError("required key is missing", _join(where, name))
    try:
        return cls(**kwargs)
    except ConfigError as exc:  # a dataclass's own checks (__post_init__) name keys relative to it
        raise exc.within(where) from None


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        # Only an option of the value's shape can take it: a list goes to the list option, a mapping to the
        # mapping or dataclass option, so a nested error reports its own key (key[i].x) rather than "expected X or Y".
        if _shape(value) != "scalar":
            options = [a for a in options if _shape(a) == _shape(value)] or options
        if len(options) == 1:
            return _convert(options[0], value, where)
        for option in options:
            try:
                return _convert(option, value, where)
            except ConfigError:
                continue
        raise ConfigError(f"expected {_expected(hint)}, got {_describe(value)}", where)
    if origin is Literal:
        if not any(value == a and type(value) is type(a) for a in args):
            raise ConfigError(f"{_describe(value)} is not one of {', '.join(map(str, args))}", where)
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"expected a list, got {_describe(value)}", where)
        return [_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"expected a mapping, got {_describe(value)}", where)
        key_type, value_type = args
        return {
            (str(k) if key_type is str else _convert(key_type, k, _join(where, str(k)))): _convert(
                value_type, v, _join(where, str(k))
            )
            for k, v in value.items()
        }
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, str):
        return value
    if hint in (bool, int, float, str):
        raise ConfigError(f"expected {_expected(hint)}, got {_describe(value)}", where)
    raise TypeError(f"config field {where or 'top level'} has an unsupported type {hint}")  # a bug, not bad input


def _shape(hint_or_value: Any) -> str:
    """'list', 'mapping' or 'scalar', for a field type or a value."""
    if typing.get_origin(hint_or_value) is list or isinstance(hint_or_value, list):
        return "list"
    is_mapping_type = typing.get_origin(hint_or_value) is dict or dataclasses.is_dataclass(hint_or_value)
    return "mapping" if is_mapping_type or isinstance(hint_or_value, dict) else "scalar"


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _expected(hint: Any) -> str:
    """How a message says what a field takes: 'an integer', 'a list', 'a string or null'."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_expected(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(map(str, args))
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", type(None): "null"}
    if hint in names:
        return names[hint]
    if origin is list:
        return "a list"
    return "a mapping"  # dict[...] or a dataclass


def _describe(value: Any) -> str:
    """A value as a YAML author would recognise it: 'abc', 3, true, null, a list, a mapping."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
