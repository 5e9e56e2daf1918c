"""Configuration errors that say where: the file, the key path inside it, and the nearest valid name.

Every YAML file under assets_config/ is parsed into a pydantic model with `extra="forbid"`, so a typo
(`requred: true`) fails at load instead of being ignored; the message names the file, the path to
the key (`tables.budget_lines.columns.line_id.requred`) and what was probably meant ('required')."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from pathlib import Path

import pydantic
import yaml


class ConfigError(ValueError):
    """A configuration file is malformed or refers to something that does not exist."""


def nearest(name: str, choices: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """ "; did you mean 'x'?" or ", valid: a, b, c" when nothing is close."""
    choices = sorted({str(c) for c in choices})
    guess = nearest(name, choices)
    if guess:
        return f"; did you mean {guess!r}?"
    shown = ", ".join(choices[:12]) + (" …" if len(choices) > 12 else "")
    return f" (valid: {shown})" if choices else ""


def key_path(loc: Iterable[object]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _unwrap(annotation):
    """The model class reached through Optional/list/dict/Annotated/unions, or None."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _unwrap(arg)
            if found is not None:
                return found
        return None
    if origin in (list, tuple, set, frozenset):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return _unwrap(args[0]) if args else None
    if origin is dict:
        return _unwrap(typing.get_args(annotation)[1])
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    return None


def _fields_at(model: type[pydantic.BaseModel], loc: tuple) -> list[str]:
    """The field names of the model that holds the key at `loc` (the last element)."""
    current = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(str(part))
        if field is None:
            # A dict key (e.g. a table name) or a tagged-union tag: stay on the same model.
            continue
        current = _unwrap(field.annotation) or current
    if current is None:
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def format_validation_error(source: str, error: pydantic.ValidationError, model) -> str:
    lines = []
    for err in error.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.endswith("]")))
        where = key_path(loc)
        if err["type"] == "extra_forbidden":
            hint = did_you_mean(str(loc[-1]), _fields_at(model, loc))
            lines.append(f"{source}: {where}: unknown key{hint}")
        elif err["type"] == "missing":
            lines.append(f"{source}: {where}: required key missing")
        else:
            lines.append(f"{source}: {where}: {err['msg']}")
    return "\n".join(lines)


def load_yaml(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def parse_model(model, data: dict, source: str):
    """Validate `data` as `model`; a ConfigError naming file, key path and nearest name otherwise."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc, model)) from None


class Strict(pydantic.BaseModel):
    """Base of every config model: unknown keys are errors, instances are immutable."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
