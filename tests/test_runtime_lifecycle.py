"""Runtime says plainly when it is used too early, and hands committed changes to the serving loop."""

from __future__ import annotations

import threading

import pytest

from omni_mcp.db.engine import create_db_engine
from omni_mcp.plugins import get_plugin_manager
from omni_mcp.runtime import Runtime
from omni_mcp.settings import Settings
from omni_mcp.testing import serve_in_thread


def test_tenancy_before_prepare_is_refused_not_cached_without_plugin_settings(
    omni_settings: Settings,
) -> None:
    runtime = Runtime(
        omni_settings, get_plugin_manager(omni_settings.plugins), create_db_engine(omni_settings.database)
    )
    try:
        with pytest.raises(RuntimeError, match="prepare"):
            runtime.tenancy  # noqa: B018
    finally:
        runtime.engine.dispose()


def test_a_change_committed_from_any_thread_reaches_the_serving_loop(omni_settings: Settings) -> None:
    with serve_in_thread(omni_settings) as gateway:
        heard: list[str] = []
        gateway.runtime.organization_listeners.append(heard.append)
        # A plain thread, not one of the event loop's workers: the serving runtime still announces the change.
        worker = threading.Thread(target=gateway.runtime.configuration_committed, args=("acme",))
        worker.start()
        worker.join(timeout=30)
        assert heard == ["acme"]


def test_outside_a_server_a_commit_only_drops_this_process_cache(omni_settings: Settings) -> None:
    runtime = Runtime(
        omni_settings, get_plugin_manager(omni_settings.plugins), create_db_engine(omni_settings.database)
    )
    heard: list[str] = []
    runtime.organization_listeners.append(heard.append)
    try:
        runtime.configuration_committed("acme")  # a CLI command: nothing to notify, nothing raised
        assert heard == []
    finally:
        runtime.engine.dispose()


def _runtime(settings: Settings) -> Runtime:
    return Runtime(settings, get_plugin_manager(settings.plugins), create_db_engine(settings.database))
