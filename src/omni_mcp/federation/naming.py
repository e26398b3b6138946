"""Names of federated tools and prompts: `<upstream>_<name>`, at most 64 characters.

A name that does not fit (or uses characters a tool name may not) is shortened deterministically: as much
of it as fits, then `_` and eight hex digits of its SHA-256, so the same upstream name always maps to the
same exposed name and two long names sharing a prefix stay apart.
"""

from __future__ import annotations

import hashlib
import re

from omni_mcp.capabilities.tools import LOCAL_NAME_PATTERN, MAX_TOOL_NAME_LENGTH

UPSTREAM_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
MAX_UPSTREAM_NAME_LENGTH = 30
_HASH_LENGTH = 8
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def check_upstream_name(name: str) -> str:
    if len(name) > MAX_UPSTREAM_NAME_LENGTH or not UPSTREAM_NAME_PATTERN.match(name):
        raise ValueError(
            f"upstream name {name!r} must be lowercase letters/digits (and '-'), "
            f"at most {MAX_UPSTREAM_NAME_LENGTH} characters"
        )
    return name


def namespaced(upstream: str, name: str) -> str:
    """The exposed name of upstream tool/prompt `name`."""
    full = f"{upstream}_{name}"
    if len(full) <= MAX_TOOL_NAME_LENGTH and LOCAL_NAME_PATTERN.match(name):
        return full
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LENGTH]
    room = MAX_TOOL_NAME_LENGTH - len(upstream) - 2 - _HASH_LENGTH
    return f"{upstream}_{_UNSAFE.sub('_', name)[:room]}_{digest}"
