"""One name, one class: two classes of the same name in the gateway's core are read as one by everyone."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import defaultdict

import omni_mcp

# The admin API's request/response schemas mirror the database tables by name on purpose.
MIRRORS = {"omni_mcp.admin.schemas"}


def test_no_two_classes_share_a_name() -> None:
    homes: dict[str, set[str]] = defaultdict(set)
    for found in pkgutil.walk_packages(omni_mcp.__path__, "omni_mcp."):
        if found.name in MIRRORS or ".db.migrations" in found.name or found.name.endswith("__main__"):
            continue
        module = importlib.import_module(found.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == found.name:
                homes[name].add(found.name)
    shared = {name: sorted(where) for name, where in homes.items() if len(where) > 1}
    assert shared == {}
