"""Per-organization plugin settings: validated against the plugin's model, secrets encrypted at rest.

Stored as JSON: plain fields as they are, secret fields (SecretStr/SecretBytes, or a field marked
`json_schema_extra={"secret": True}`) as {"$encrypted": <Fernet token>}.

The operator may set fields for every organization (`[plugins.settings.<plugin>]`); organizations cannot
change those. A field marked `json_schema_extra={"operator_only": True}` (e.g. the upstream URL a plugin
sends an organization's credentials to) is never an organization's to set: only the operator's value,
or the field's default, applies.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from loguru import logger
from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError

from omni_mcp.errors import StartupError
from omni_mcp.security.secrets import SecretBox

ENCRYPTED = "$encrypted"
REDACTED = "********"


class SettingsValidationError(ValueError):
    """Values do not fit the plugin's settings model; the message names each field."""


def secret_fields(model: type[BaseModel]) -> frozenset[str]:
    names = set()
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if extra.get("secret") is True or _is_secret_type(field.annotation):
            names.add(name)
    return frozenset(names)


def operator_only_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("operator_only") is True
    )


def fixed_fields(model: type[BaseModel], operator: Mapping[str, Any]) -> frozenset[str]:
    """The fields an organization may not set: operator-only ones, and those the operator has set."""
    return operator_only_fields(model) | frozenset(operator)


def with_operator_values(
    model: type[BaseModel], own: Mapping[str, Any], operator: Mapping[str, Any]
) -> dict[str, Any]:
    """An organization's values, less what it may not set, plus the operator's."""
    fixed = fixed_fields(model, operator)
    return {key: value for key, value in own.items() if key not in fixed} | dict(operator)


class OperatorSettingsInvalid(StartupError):
    """`[plugins.settings]` names a field a plugin does not have, or a value that does not fit it."""


def check_operator_settings(
    operator: Mapping[str, Mapping[str, Any]], models: Mapping[str, type[BaseModel]], loaded: Iterable[str]
) -> None:
    """Refuse to start on operator settings that cannot apply; a plugin not loaded is only logged."""
    problems = []
    loaded_plugins = set(loaded)
    for plugin, values in operator.items():
        model = models.get(plugin)
        if model is None:
            if plugin in loaded_plugins:
                problems.append(f"plugin {plugin} has no settings")
            else:
                logger.warning("[plugins.settings.{}]: no such plugin is loaded; ignored", plugin)
            continue
        fields = model.model_fields
        for name in sorted(set(values) - set(fields)):
            problems.append(f"{plugin} has no setting {name!r} (its settings: {', '.join(fields)})")
        try:
            model.model_validate({name: value for name, value in values.items() if name in fields})
        except ValidationError as error:  # only the operator's own fields: the rest are each organization's
            problems += [
                f"{plugin}.{'.'.join(str(p) for p in item['loc'])}: {item['msg']}"
                for item in error.errors()
                if item["loc"] and item["loc"][0] in values
            ]
    if problems:
        raise OperatorSettingsInvalid("invalid [plugins.settings]: " + "; ".join(problems))


def _is_secret_type(annotation: Any) -> bool:
    if annotation in (SecretStr, SecretBytes):
        return True
    return any(_is_secret_type(arg) for arg in typing.get_args(annotation))


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings from the command line; a VALUE that is JSON (list, object, number) is parsed."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise SettingsValidationError(f"expected KEY=VALUE, got {pair!r}")
        values[key.strip()] = _maybe_json(raw)
    return values


def _maybe_json(raw: str) -> Any:
    if raw[:1] in ("[", "{") or raw in ("true", "false", "null"):
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            return raw
    return raw


def validate_settings(model: type[BaseModel], plain: dict[str, Any], plugin: str) -> BaseModel:
    try:
        return model.model_validate(plain)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = ".".join(str(p) for p in item["loc"]) or "(settings)"
            problems.append(f"'{field}': {item['msg']}")
        raise SettingsValidationError(f"invalid settings for {plugin}: " + "; ".join(problems)) from None


def encode(model: type[BaseModel], instance: BaseModel, box: SecretBox) -> dict[str, Any]:
    """The JSON to store: secrets encrypted, unset optional fields left out."""
    secrets = secret_fields(model)
    stored: dict[str, Any] = {}
    for name in instance.model_fields_set | {n for n, f in model.model_fields.items() if f.is_required()}:
        value = getattr(instance, name)
        if name in secrets and value is not None:
            plaintext = value.get_secret_value() if isinstance(value, SecretStr | SecretBytes) else str(value)
            if isinstance(plaintext, bytes):
                plaintext = plaintext.decode()
            stored[name] = {ENCRYPTED: box.encrypt(plaintext)}
        else:
            stored[name] = instance.model_dump(mode="json", include={name})[name]
    return stored


def decode_plain(stored: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    """Stored JSON back to plain values (secrets decrypted), ready to validate."""
    return {
        key: box.decrypt(value[ENCRYPTED]) if isinstance(value, dict) and ENCRYPTED in value else value
        for key, value in stored.items()
    }


def redact(stored: dict[str, Any]) -> dict[str, Any]:
    """What may be shown or audited: secrets replaced by a marker, never their value or ciphertext."""
    return {
        key: REDACTED if isinstance(value, dict) and ENCRYPTED in value else value
        for key, value in stored.items()
    }
