"""Turn a handler's signature into a pydantic model of its arguments, and call it with validated ones."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from omni_mcp.context import CallContext


class ArgumentsError(ValueError):
    """Arguments did not match the declared schema; the message names each bad field."""


@dataclass(frozen=True)
class HandlerSignature:
    """How to call one handler: its arguments model and where the call context goes."""

    model: type[BaseModel]
    context_param: str | None
    model_param: str | None  # set when the handler takes the whole arguments model as one parameter

    def json_schema(self) -> dict[str, Any]:
        schema = self.model.model_json_schema()
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        return schema

    def validate(self, arguments: dict[str, Any] | None) -> dict[str, Any]:
        """The handler's keyword arguments (without the context), or ArgumentsError naming each bad field."""
        try:
            validated = self.model.model_validate(arguments or {})
        except ValidationError as error:
            raise ArgumentsError(describe_argument_errors(error)) from None
        if self.model_param is not None:
            return {self.model_param: validated}
        return {name: getattr(validated, name) for name in type(validated).model_fields}


@dataclass(frozen=True)
class SchemaSignature:
    """A handler whose arguments are described by a JSON Schema given verbatim (kept as is when listed).

    Arguments are validated with that schema and passed as keywords, so the handler may take `**arguments`.
    """

    schema: dict[str, Any]
    context_param: str | None

    def json_schema(self) -> dict[str, Any]:
        return self.schema

    def validate(self, arguments: dict[str, Any] | None) -> dict[str, Any]:
        """The handler's keyword arguments (without the context), or ArgumentsError naming each bad field."""
        validator_class = jsonschema.validators.validator_for(
            self.schema, default=jsonschema.Draft202012Validator
        )
        errors = sorted(validator_class(self.schema).iter_errors(arguments or {}), key=lambda e: list(e.path))
        if errors:
            raise ArgumentsError("; ".join(_describe_schema_error(e) for e in errors))
        return dict(arguments or {})


def _describe_schema_error(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path)
    return f"argument '{where}': {error.message}" if where else error.message


def schema_handler(fn: Callable[..., Any], schema: dict[str, Any]) -> SchemaSignature:
    jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator).check_schema(schema)
    return SchemaSignature(schema=schema, context_param=context_parameter(fn))


def inspect_handler(fn: Callable[..., Any], model_name: str) -> HandlerSignature:
    """Read `fn`'s parameters: one typed CallContext (optional), then either one BaseModel or plain fields."""
    hints = typing.get_type_hints(fn, include_extras=True)
    context_param: str | None = None
    fields: dict[str, Any] = {}
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"{fn.__qualname__}: *args/**kwargs cannot be described as a tool schema")
        annotation = hints.get(name, Any)
        if annotation is CallContext:
            context_param = name
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, default)
    if len(fields) == 1:
        ((only_name, (annotation, _default)),) = fields.items()
        if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
            return HandlerSignature(model=annotation, context_param=context_param, model_param=only_name)
    model: type[BaseModel] = create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)
    return HandlerSignature(model=model, context_param=context_param, model_param=None)


@functools.cache
def context_parameter(fn: Callable[..., Any]) -> str | None:
    """The name of `fn`'s parameter typed CallContext, if it has one."""
    hints = typing.get_type_hints(fn)
    return next((name for name, hint in hints.items() if hint is CallContext and name != "return"), None)


def describe_argument_errors(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(arguments)"
        if item["type"] == "extra_forbidden":
            parts.append(f"unknown argument '{field}'")
        elif item["type"] == "missing":
            parts.append(f"missing required argument '{field}'")
        else:
            parts.append(f"argument '{field}': {item['msg']}")
    return "; ".join(parts)
