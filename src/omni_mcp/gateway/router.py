"""Resolve a tool, prompt or resource name to its plugin and run it: validated, isolated, bounded in time."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import anyio
import mcp.types as types
from loguru import logger
from mcp.shared.exceptions import MCPError

from omni_mcp.capabilities.prompts import RenderTooLarge, render_template, to_prompt_result
from omni_mcp.capabilities.resources import ResourceNotFound, to_read_result
from omni_mcp.capabilities.signatures import ArgumentsError, context_parameter
from omni_mcp.capabilities.tools import ToolError, error_result, to_call_result
from omni_mcp.config.effective import OrgConfig, ServedItem
from omni_mcp.context import CallContext
from omni_mcp.gateway.request_state import RequestStateSealer
from omni_mcp.isolation.escapes import PluginEscape
from omni_mcp.runtime import Runtime

R = TypeVar("R")

ContextFactory = Callable[[str, str], CallContext]
"""`(plugin, name) -> CallContext` for the request being served."""


class Router:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.runner = runtime.plugins.runner
        secret = runtime.settings.gateway.state_secret
        self.sealer = RequestStateSealer(
            secret.get_secret_value().encode() if secret else secrets.token_bytes(32),
            ttl_seconds=runtime.settings.gateway.request_state_ttl,
        )

    async def call_tool(
        self, params: types.CallToolRequestParams, org: OrgConfig, make_context: ContextFactory
    ) -> types.CallToolResult | types.InputRequiredResult:
        name = params.name
        owned = org.find_tool(self.runtime.capabilities.tools, name)
        if owned is None:  # a disabled server's tools do not exist
            raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {name}")
        tool = owned.item
        try:
            kwargs = tool.signature.validate(dict(params.arguments or {}))
        except ArgumentsError as error:
            return error_result(f"Invalid arguments for tool '{name}': {error}")
        context = make_context(owned.plugin, name)
        self._open_rounds(context, params, f"tool:{name}")
        if tool.signature.context_param is not None:
            kwargs[tool.signature.context_param] = context
        timeout = self.runtime.settings.gateway.tool_timeout
        started = time.perf_counter()
        context.deadline = time.monotonic() + timeout
        try:
            with anyio.fail_after(timeout):
                value = await self.runner.run(f"tool '{name}'", tool.handler, **kwargs)
            return self._seal_rounds(to_call_result(value), context, f"tool:{name}")
        except ToolError as error:
            return error_result(str(error) or f"Tool '{name}' failed")
        except TimeoutError:
            context.logger.warning("tool {} timed out after {}s", name, timeout)
            return error_result(f"Tool '{name}' did not finish within {timeout:g} seconds and was stopped")
        except MCPError:
            raise  # the plugin asked for a protocol error on purpose
        except Exception as error:
            context.logger.opt(exception=error).error("tool {} raised", name)
            return error_result(f"Tool '{name}' failed: {_failure(error)}")
        finally:
            context.logger.debug("tool {} took {:.1f} ms", name, (time.perf_counter() - started) * 1000)

    async def get_prompt(
        self, params: types.GetPromptRequestParams, org: OrgConfig, make_context: ContextFactory
    ) -> types.GetPromptResult | types.InputRequiredResult:
        name = params.name
        owned = org.prompts.get(name)
        if owned is None:
            raise MCPError(types.INVALID_PARAMS, f"Unknown prompt: {name}")
        prompt = owned.item
        try:
            values = prompt.check_arguments(params.arguments)
        except ArgumentsError as error:
            raise MCPError(types.INVALID_PARAMS, str(error)) from None
        if prompt.template is not None:
            limit = self.runtime.settings.templates.max_rendered_chars
            try:
                return to_prompt_result(prompt, render_template(prompt.template, values, limit))
            except RenderTooLarge as error:
                raise MCPError(
                    types.INVALID_PARAMS, f"Prompt '{name}': {error} (templates.max_rendered_chars)"
                ) from None
        assert prompt.render is not None and owned.plugin is not None
        context = make_context(owned.plugin, name)
        self._open_rounds(context, params, f"prompt:{name}")
        value = await self._guarded(f"prompt '{name}'", prompt.render, values, context)
        return self._seal_rounds(to_prompt_result(prompt, value), context, f"prompt:{name}")

    async def read_resource(
        self, uri: str, org: OrgConfig, make_context: ContextFactory
    ) -> types.ReadResourceResult:
        fixed = org.resources.get(uri)
        if fixed is not None:
            resource = fixed.item
            if resource.text is not None:
                return to_read_result(uri, resource.mime_type, resource.text)
            if resource.blob is not None:
                return to_read_result(uri, resource.mime_type, resource.blob)
            assert resource.read is not None and fixed.plugin is not None
            context = make_context(fixed.plugin, uri)
            value = await self._guarded(f"resource '{uri}'", resource.read, {}, context)
            return to_read_result(uri, resource.mime_type, value)
        found = _find_template(org, uri)
        if found is None:
            raise MCPError(types.INVALID_PARAMS, f"Resource not found: {uri}", {"uri": uri})
        owned, variables = found
        assert owned.plugin is not None
        context = make_context(owned.plugin, uri)
        value = await self._guarded(f"resource '{uri}'", owned.item.read, variables, context)
        return to_read_result(uri, owned.item.mime_type, value)

    async def complete(
        self,
        ref: types.PromptReference | types.ResourceTemplateReference,
        argument: str,
        value: str,
        context_arguments: Mapping[str, str],
        org: OrgConfig,
        make_context: ContextFactory,
    ) -> types.Completion:
        completer = None
        if isinstance(ref, types.PromptReference):
            owned_prompt = org.prompts.get(ref.name)
            if owned_prompt is None:
                raise MCPError(types.INVALID_PARAMS, f"Unknown prompt: {ref.name}")
            completer, plugin, target = owned_prompt.item.complete, owned_prompt.plugin, ref.name
        else:
            owned_template = org.templates.get(ref.uri)
            if owned_template is None:
                raise MCPError(types.INVALID_PARAMS, f"Unknown resource template: {ref.uri}")
            completer, plugin, target = owned_template.item.complete, owned_template.plugin, ref.uri
        if completer is None:
            return types.Completion(values=[])
        try:
            # A completer that asks for a CallContext gets the caller's (its organization, settings, store).
            context_param = context_parameter(completer) if plugin is not None else None
            extra = {context_param: make_context(plugin, target)} if context_param and plugin else {}
            with anyio.fail_after(self.runtime.settings.gateway.tool_timeout):
                completed = await self.runner.run(
                    f"completion of {target}", completer, argument, value, dict(context_arguments), **extra
                )
                values = list(completed)
        except Exception as error:
            logger.opt(exception=error).warning("completion for {} failed", argument)
            kind = type(error.original if isinstance(error, PluginEscape) else error).__name__
            raise MCPError(types.INTERNAL_ERROR, f"Completion failed: {kind}") from None
        limited = [str(v) for v in values[:100]]
        return types.Completion(values=limited, total=len(values), has_more=len(values) > 100)

    def _open_rounds(
        self, context: CallContext, params: types.InputResponseRequestParams, target: str
    ) -> None:
        """Hand the plugin the previous round's answers and the state it issued (after checking our seal)."""
        if params.request_state is not None:
            context.request_state = self.sealer.open(params.request_state, target=target, actor=context.actor)
        context.input_responses = dict(params.input_responses) if params.input_responses else None

    def _seal_rounds(self, result: R, context: CallContext, target: str) -> R:
        if isinstance(result, types.InputRequiredResult) and result.request_state is not None:
            sealed = self.sealer.seal(result.request_state, target=target, actor=context.actor)
            return result.model_copy(update={"request_state": sealed})
        return result

    async def _guarded(
        self, what: str, fn: Callable[..., Any], values: Mapping[str, Any], context: CallContext
    ) -> Any:
        """Run plugin code for a prompt or resource; a failure is a JSON-RPC error, never a crash."""
        timeout = self.runtime.settings.gateway.tool_timeout
        context.deadline = time.monotonic() + timeout
        kwargs = dict(values)
        context_param = context_parameter(fn)
        if context_param is not None:
            kwargs[context_param] = context
        try:
            with anyio.fail_after(timeout):
                return await self.runner.run(what, fn, **kwargs)
        except MCPError:
            raise
        except ResourceNotFound as error:
            detail = f" ({error})" if str(error) else ""
            raise MCPError(
                types.INVALID_PARAMS, f"Resource not found: {context.name}{detail}", {"uri": context.name}
            ) from None
        except ToolError as error:  # the plugin's own message for the client: expected, not a crash
            context.logger.info("{}: {}", what, error)
            raise MCPError(types.INTERNAL_ERROR, f"{what}: {error}") from None
        except TimeoutError:
            raise MCPError(
                types.INTERNAL_ERROR, f"{what} did not answer within {timeout:g} seconds"
            ) from None
        except Exception as error:
            context.logger.opt(exception=error).error("{} failed", what)
            raise MCPError(types.INTERNAL_ERROR, f"{what} failed: {_failure(error)}") from None


def _find_template(org: OrgConfig, uri: str) -> tuple[ServedItem, dict[str, str | list[str]]] | None:
    for owned in org.templates.values():
        variables = owned.item.match(uri)
        if variables is not None:
            return owned, variables
    return None


def _failure(error: Exception) -> str:
    """What went wrong, for the client: the exception type and message (the escaped one, if contained)."""
    return str(error) if isinstance(error, PluginEscape) else f"{type(error).__name__}: {error}"
