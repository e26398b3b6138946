"""Build the plugin manager: hookspecs, core defaults, entry-point plugins filtered by allow/block lists."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio
import pluggy
from loguru import logger
from pluggy import HookImpl

from omni_mcp import hookspecs
from omni_mcp.__about__ import __version__
from omni_mcp.isolation.runner import PluginRunner
from omni_mcp.settings import PluginSettings

ENTRY_POINT_GROUP = "omni_mcp"
# Plugins published here (test fixtures, demos) load only when `plugins.allow` names them: installing
# one, as the test command does, must not change what a plain `omni-mcp serve` offers.
OPT_IN_ENTRY_POINT_GROUP = "omni_mcp_opt_in"
DEFAULT_PLUGINS = (
    "omni_mcp.default_plugins.database",
    "omni_mcp.default_plugins.permissions",
    "omni_mcp.default_plugins.api_keys",
    "omni_mcp.default_plugins.oidc",
    "omni_mcp.admin.plugin",
)


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    source: str  # "core", "entry point" or "extra"
    distribution: str | None = None


@dataclass
class PluginHost:
    """The pluggy manager plus what we know of each plugin (version, where it came from, load errors)."""

    manager: pluggy.PluginManager
    info: dict[str, PluginInfo] = field(default_factory=dict)
    load_errors: dict[str, str] = field(default_factory=dict)
    runner: PluginRunner = field(default_factory=PluginRunner)
    """Runs plugins' code: sync code in a bounded thread pool, escapes (SystemExit...) contained."""

    @property
    def hook(self) -> Any:
        return self.manager.hook

    def names(self) -> list[str]:
        return list(self.info)

    def implementations(self, hook_name: str, reverse: bool = False) -> list[HookImpl]:
        """A hook's implementations in the order pluggy calls them: `tryfirst` ones first, then the most
        recently registered (entry-point and extra plugins before the core defaults), `trylast` last.
        `reverse=True` gives the opposite order, for undoing what the forward order set up."""
        # get_hookimpls() lists them in the opposite order to pluggy's calls.
        impls = getattr(self.manager.hook, hook_name).get_hookimpls()
        return list(impls) if reverse else list(reversed(impls))

    async def call_each(
        self, hook_name: str, time_limit: float | None = None, reverse: bool = False, **kwargs: Any
    ) -> AsyncGenerator[tuple[str, Any, BaseException | None], None]:
        """Call every implementation of a hook in pluggy's order (see `implementations`), yielding
        (plugin, result, error) without raising.

        One plugin's failure must not hide the others' answers, and we need to know who answered what.
        """
        for impl in self.implementations(hook_name, reverse=reverse):
            args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
            try:
                if time_limit is None:  # the common case, and on the request path: no timer to set up
                    result = await self.call_impl(hook_name, impl, args)
                else:
                    with anyio.fail_after(time_limit):
                        result = await self.call_impl(hook_name, impl, args)
            except Exception as error:  # a plugin's bug is reported, never fatal
                yield impl.plugin_name, None, error
            else:
                yield impl.plugin_name, result, None

    async def call_impl(self, hook_name: str, impl: pluggy.HookImpl, arguments: dict[str, Any]) -> Any:
        """One plugin's implementation of a hook. The core's own run inline; any other plugin's through
        the runner, so a blocking sync hook cannot stall the event loop nor a SystemExit stop the process."""
        info = self.info.get(impl.plugin_name)
        if info is not None and info.source == "core":
            return await await_me_maybe(impl.function(**arguments))
        what = f"hook {hook_name} of plugin {impl.plugin_name}"
        return await self.runner.run(what, impl.function, **arguments)


async def await_me_maybe(value: Any) -> Any:
    """Accept both sync and async hook implementations."""
    if inspect.isawaitable(value):
        return await value
    return value


def get_plugin_manager(
    settings: PluginSettings | None = None,
    extra_plugins: Iterable[tuple[str, object]] = (),
    load_entry_points: bool = True,
) -> PluginHost:
    """A fresh plugin manager; nothing is registered at import time."""
    settings = settings or PluginSettings()
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    host = PluginHost(manager, runner=PluginRunner(settings.worker_threads, settings.stall_warning_seconds))
    for module_name in DEFAULT_PLUGINS:
        manager.register(importlib.import_module(module_name), name=module_name)
        host.info[module_name] = PluginInfo(module_name, __version__, "core", "omni-mcp")
    if load_entry_points:
        _load_entry_points(host, settings)
    for name, plugin in extra_plugins:
        manager.register(plugin, name=name)
        host.info[name] = PluginInfo(name, getattr(plugin, "__version__", "0"), "extra")
    _drop_plugins_with_unknown_hooks(host)
    return host


def _drop_plugins_with_unknown_hooks(host: PluginHost) -> None:
    """A plugin implementing a hook we do not have is a plugin bug: report it, keep the rest."""
    while True:
        try:
            host.manager.check_pending()
            return
        except pluggy.PluginValidationError as error:
            name = host.manager.get_name(error.plugin) or repr(error.plugin)
            host.manager.unregister(error.plugin)
            host.load_errors[name] = f"invalid plugin: {error}"


def _entry_points(settings: PluginSettings) -> list[importlib.metadata.EntryPoint]:
    """Every plugin of the main group, and the opt-in ones that `plugins.allow` names."""
    found = list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
    named = set(settings.allow or ())
    found += [
        ep for ep in importlib.metadata.entry_points(group=OPT_IN_ENTRY_POINT_GROUP) if ep.name in named
    ]
    return found


def _load_entry_points(host: PluginHost, settings: PluginSettings) -> None:
    for entry_point in _entry_points(settings):
        name = entry_point.name
        if name in settings.block or (settings.allow is not None and name not in settings.allow):
            logger.debug("plugin {} skipped by the plugins allow/block settings", name)
            continue
        if name in host.info:
            host.load_errors[name] = f"two plugins are named {name!r}; the second was not loaded"
            continue
        distribution = entry_point.dist.name if entry_point.dist else None
        version = entry_point.dist.version if entry_point.dist else "unknown"
        try:
            plugin = entry_point.load()
            host.manager.register(plugin, name=name)
        except Exception as error:  # a broken plugin must not take the gateway down
            logger.opt(exception=error).error("plugin {} could not be loaded", name)
            host.load_errors[name] = f"could not be loaded: {type(error).__name__}: {error}"
            host.info[name] = PluginInfo(name, version, "entry point", distribution)
            continue
        host.info[name] = PluginInfo(name, version, "entry point", distribution)
