"""Throwaway plugins for the core's tests, each registered per test (never at import)."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
from pydantic import BaseModel, Field, SecretStr
from starlette.requests import Request

from omni_mcp import (
    Actor,
    CallContext,
    Health,
    Prompt,
    PromptArgument,
    Resource,
    ResourceNotFound,
    ResourceTemplate,
    ToolError,
    ToolGroup,
    ToolResult,
    hookimpl,
)


class Point(BaseModel):
    x: int
    y: int = Field(0, description="vertical")


def echo_group(namespace: str = "demo") -> ToolGroup:
    group = ToolGroup(namespace, description="test tools")

    @group.tool
    async def echo(text: Annotated[str, Field(description="what to say back")], times: int = 1) -> str:
        """Say the text back."""
        return text * times

    @group.tool
    def sync_add(a: int, b: int) -> dict[str, int]:
        """Add two numbers (a sync tool)."""
        return {"sum": a + b}

    @group.tool
    async def move(point: Point) -> ToolResult:
        """Takes a whole pydantic model as its arguments."""
        return ToolResult(text=f"moved to {point.x},{point.y}", structured=point.model_dump())

    @group.tool
    async def crash(ctx: CallContext) -> str:
        """Always raises."""
        raise RuntimeError(f"boom in {ctx.name}")

    @group.tool
    async def refuse() -> str:
        """Fails on purpose with a message for the user."""
        raise ToolError("the upstream said no")

    @group.tool
    async def hang(seconds: float = 60) -> str:
        """Sleeps longer than any sane timeout."""
        await anyio.sleep(seconds)
        return "woke up"

    @group.tool
    async def progress(ctx: CallContext, steps: int = 3) -> str:
        """Reports progress and logs to the client."""
        for step in range(1, steps + 1):
            await ctx.report_progress(step, steps, f"step {step}")
            await ctx.log("info", f"did step {step}")
        return "done"

    return group


class EchoPlugin:
    """A healthy plugin with tools, a prompt, and resources."""

    def __init__(self, namespace: str = "demo") -> None:
        self.namespace = namespace

    @hookimpl
    def register_tools(self) -> ToolGroup:
        return echo_group(self.namespace)

    @hookimpl
    def register_prompts(self) -> list[Prompt]:
        return [
            Prompt(
                f"{self.namespace}_greet",
                "Greets someone",
                (PromptArgument("name", "who", required=True), PromptArgument("mood")),
                template="Hello {name}! Mood: {mood}. Braces stay: {{name}}",
                complete=complete_mood,
            )
        ]

    @hookimpl
    async def register_resources(self) -> list[Resource | ResourceTemplate]:
        async def item(ctx: CallContext, id: str) -> str:
            if id == "missing":
                raise ResourceNotFound(f"no item {id}")
            if id == "locked":
                raise ToolError("the item is locked by its owner")
            if id == "crash":
                raise RuntimeError("bug in the reader")
            return f"item {id} for {ctx.actor.organization}"

        def complete_item(argument: str, value: str, context: dict[str, str], ctx: CallContext) -> list[str]:
            # Asks for the caller's context: completions can depend on the organization and its settings.
            return [f"{value}-{ctx.actor.organization}", f"{value}-via-{ctx.plugin}"]

        return [
            Resource(f"{self.namespace}://readme", "readme", text="read me"),
            ResourceTemplate(f"{self.namespace}://items/{{id}}", "item", read=item, complete=complete_item),
        ]


def complete_mood(argument: str, value: str, context: dict[str, str]) -> list[str]:
    """A completer without a CallContext: the three positional arguments only."""
    moods = ["calm", "cheerful", "curious", "grumpy"]
    return [m for m in moods if m.startswith(value)] if argument == "mood" else []


class FailingStartupPlugin:
    """Its startup raises, so its tools must be withheld while others serve."""

    @hookimpl
    def register_tools(self) -> ToolGroup:
        group = ToolGroup("broken")

        @group.tool
        async def never() -> str:
            return "should not be reachable"

        return group

    @hookimpl
    async def startup(self) -> None:
        raise ConnectionError("upstream unreachable")


class SickPlugin:
    """Starts fine but reports itself unhealthy."""

    @hookimpl
    def register_tools(self) -> ToolGroup:
        group = ToolGroup("sick")

        @group.tool
        async def ping() -> str:
            return "pong"

        return group

    @hookimpl
    def health_check(self) -> Health:
        return Health("unhealthy", "token expired")


class CrmSettings(BaseModel):
    api_key: SecretStr = Field(description="the CRM's API key")
    region: Literal["eu", "us"] = "eu"
    page_size: int = Field(20, ge=1, le=100)


class CrmPlugin:
    """A plugin with per-org settings (one secret), a default template prompt and a default text resource."""

    @hookimpl
    def register_settings(self) -> type[BaseModel]:
        return CrmSettings

    @hookimpl
    def register_tools(self) -> ToolGroup:
        group = ToolGroup("crm")

        @group.tool
        async def whoami(ctx: CallContext) -> dict[str, object]:
            """Shows which organization and settings the call ran with (never the key itself)."""
            if ctx.settings is None:
                raise ToolError(f"crm is not configured: {ctx.settings_error}")
            settings = ctx.settings
            assert isinstance(settings, CrmSettings)
            return {
                "organization": ctx.actor.organization,
                "region": settings.region,
                "key_suffix": settings.api_key.get_secret_value()[-2:],
            }

        @group.tool
        async def remember(ctx: CallContext, note: str) -> str:
            """Stores a note for the calling organization."""
            assert ctx.store is not None
            await ctx.store.put("notes", note, {"note": note})
            return "ok"

        @group.tool(permission="services:manage")
        async def purge() -> str:
            """Admin-only: needs services:manage on top of tools:call."""
            return "purged"

        @group.tool
        async def notes(ctx: CallContext) -> list[str]:
            """Lists the calling organization's notes."""
            assert ctx.store is not None
            return [value["note"] for _key, value in await ctx.store.recent("notes")]

        return group

    @hookimpl
    def register_prompts(self) -> list[Prompt]:
        return [
            Prompt(
                "crm_follow_up",
                "Write a follow-up",
                (PromptArgument("customer", required=True),),
                template="Default follow-up for {customer}",
            ),
            Prompt("crm_code_prompt", "Rendered by code", render=lambda: "from code"),
        ]

    @hookimpl
    def register_resources(self) -> list[Resource]:
        return [Resource("crm://playbook", "playbook", text="default playbook")]


class HeaderActorPlugin:
    """Test-only authentication: the caller's organization comes from a header (never do this for real)."""

    @hookimpl
    def actor_from_request(self, request: Request) -> Actor | None:
        headers = request.headers
        organization = headers.get("x-test-organization")
        if not organization:
            return None
        tools = headers.get("x-test-tools")
        return Actor(
            id=headers.get("x-test-id", "tester"),
            organization=organization,
            role=headers.get("x-test-role", "member"),
            kind="api_key" if tools is not None else "user",
            allowed_tools=frozenset(filter(None, tools.split(","))) if tools is not None else None,
        )
