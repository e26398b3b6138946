"""'Did you mean' for a setting key nobody knows: the closest key of the same section."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel


def _model_at(model: type[BaseModel], path: Sequence[Any]) -> type[BaseModel] | None:
    """The settings model (section) that `path` leads to, or None below free-form tables."""
    for part in path:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def did_you_mean(root: type[BaseModel], loc: Sequence[Any]) -> str:
    """' (did you mean 'server.port'?)' for an unknown key at `loc`, or '' when nothing is close."""
    if not loc:
        return ""
    model = _model_at(root, loc[:-1])
    if model is None:
        return ""
    known = [name for name in model.model_fields] + [
        field.alias for field in model.model_fields.values() if field.alias
    ]
    close = difflib.get_close_matches(str(loc[-1]).lower(), known, n=1, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean '{'.'.join([*map(str, loc[:-1]), close[0]])}'?)"


def stray_environment_variables(environ: Mapping[str, str], root: type[BaseModel], prefix: str) -> list[str]:
    """One line per `PREFIX<SECTION>__<KEY>` variable whose section does not exist (pydantic-settings
    ignores those silently, so a typo would quietly leave the default in force)."""
    problems = []
    for name in sorted(environ):
        if not name.upper().startswith(prefix) or "__" not in name[len(prefix) :]:
            continue
        section = name[len(prefix) :].split("__", 1)[0].lower()
        if section in root.model_fields:
            continue
        close = difflib.get_close_matches(section, list(root.model_fields), n=1, cutoff=0.6)
        hint = f" (did you mean {prefix}{close[0].upper()}__...?)" if close else ""
        problems.append(f"environment variable {name} names no settings section '{section}'{hint}")
    return problems
