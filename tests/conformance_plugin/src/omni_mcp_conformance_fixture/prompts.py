"""The prompts (and the prompt-argument completion) the conformance scenarios ask for."""

from __future__ import annotations

import mcp.types as types

from omni_mcp import CallContext, Prompt, PromptArgument
from omni_mcp_conformance_fixture import interaction as ask
from omni_mcp_conformance_fixture.content import IMAGE_PNG_BASE64

SUGGESTIONS = {
    "arg1": ("paris", "park", "party", "test", "testValue1"),
    "arg2": ("test", "testValue2", "value"),
}


def complete_arguments(argument: str, value: str, context_arguments: dict[str, str]) -> list[str]:
    """Suggestions for test_prompt_with_arguments: the known values starting with what was typed."""
    return [s for s in SUGGESTIONS.get(argument, ()) if s.startswith(value)]


def embedded_resource(resourceUri: str) -> list[types.PromptMessage]:
    return [
        types.PromptMessage(
            role="user",
            content=types.EmbeddedResource(
                resource=types.TextResourceContents(
                    uri=resourceUri, mime_type="text/plain", text="Embedded resource content for testing."
                )
            ),
        ),
        types.PromptMessage(
            role="user", content=types.TextContent(text="Please process the embedded resource above.")
        ),
    ]


def image() -> list[types.PromptMessage]:
    return [
        types.PromptMessage(
            role="user", content=types.ImageContent(data=IMAGE_PNG_BASE64, mime_type="image/png")
        ),
        types.PromptMessage(role="user", content=types.TextContent(text="Please analyze the image above.")),
    ]


async def with_user_context(ctx: CallContext) -> str | types.InputRequiredResult:
    """Asks the user for context first (input_required on 2026-07-28, elicitation before that)."""
    request = ask.object_schema(context="string")
    reply = await ask.elicit(ctx, "user_context", "What context should the prompt use?", request)
    if isinstance(reply, types.InputRequiredResult):
        return reply
    return f"Prompt with context: {ask.accepted(reply, 'context') or '(none given)'}"


PROMPTS = [
    Prompt(
        "test_simple_prompt",
        "A simple prompt without arguments",
        title="Simple Test Prompt",
        template="This is a simple prompt for testing.",
    ),
    Prompt(
        "test_prompt_with_arguments",
        "A prompt with required arguments",
        (
            PromptArgument("arg1", "First test argument", required=True),
            PromptArgument("arg2", "Second test argument", required=True),
        ),
        title="Prompt With Arguments",
        template="Prompt with arguments: arg1='{arg1}', arg2='{arg2}'",
        complete=complete_arguments,
    ),
    Prompt(
        "test_prompt_with_embedded_resource",
        "A prompt that includes an embedded resource",
        (PromptArgument("resourceUri", "URI of the resource to embed", required=True),),
        title="Prompt With Embedded Resource",
        render=embedded_resource,
    ),
    Prompt(
        "test_prompt_with_image",
        "A prompt that includes image content",
        title="Prompt With Image",
        render=image,
    ),
    Prompt(
        "test_input_required_result_prompt",
        "A prompt that needs input from the user before it can render (SEP-2322)",
        title="Prompt Requiring Input",
        render=with_user_context,
    ),
]
