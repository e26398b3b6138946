"""2026-07-28 multi-round tools (SEP-2322): they return `input_required` results and finish on retry.

The gateway seals the `requestState` we hand out and verifies it before we run again, so
`ctx.request_state` is always a state this plugin issued, for this tool (a forged one never reaches us).
"""

from __future__ import annotations

import json

import mcp.types as types

from omni_mcp import CallContext, ToolGroup
from omni_mcp_conformance_fixture import interaction as ask

multi_round = ToolGroup("test", description="MCP conformance suite: multi-round input_required tools")

NAME_REQUEST = ask.elicitation("What is your name?", ask.object_schema(name="string"))
CONFIRM_REQUEST = ask.elicitation("Please confirm", ask.object_schema(ok="boolean"))


@multi_round.tool
async def input_required_result_elicitation(ctx: CallContext) -> str | types.InputRequiredResult:
    """Asks for the user's name, then greets them."""
    reply = ask.answer(ctx, "user_name", types.ElicitResult)
    name = ask.accepted(reply, "name") if reply is not None else None
    if name is None:  # not answered yet, or answered under another key: ask (again)
        return ask.input_required({"user_name": NAME_REQUEST})
    return f"Hello, {name}!"


@multi_round.tool
async def input_required_result_sampling(ctx: CallContext) -> str | types.InputRequiredResult:
    """Asks the client's model a question, then reports its answer."""
    result = await ask.sample(ctx, "capital_question", "What is the capital of France?", max_tokens=100)
    if isinstance(result, types.InputRequiredResult):
        return result
    return f"Sampling result: {ask.sampled_text(result)}"


@multi_round.tool
async def input_required_result_list_roots(ctx: CallContext) -> str | types.InputRequiredResult:
    """Asks for the client's roots, then lists them."""
    roots = ask.answer(ctx, "client_roots", types.ListRootsResult)
    if roots is None:
        return ask.input_required({"client_roots": ask.list_roots()})
    return f"Found {len(roots.roots)} root(s): " + ", ".join(str(root.uri) for root in roots.roots)


@multi_round.tool
async def input_required_result_request_state(ctx: CallContext) -> str | types.InputRequiredResult:
    """Asks for confirmation with a requestState, and completes only when that state comes back."""
    confirmed = ask.answer(ctx, "confirm", types.ElicitResult)
    if ctx.request_state == "awaiting-confirmation" and confirmed is not None:
        return f"state-ok: requestState validated, confirmation {ask.describe(confirmed)}"
    return ask.input_required({"confirm": CONFIRM_REQUEST}, state="awaiting-confirmation")


@multi_round.tool
async def input_required_result_multiple_inputs(ctx: CallContext) -> str | types.InputRequiredResult:
    """Asks for a name, a generated greeting and the client's roots in one round."""
    name = ask.answer(ctx, "user_name", types.ElicitResult)
    greeting = (ctx.input_responses or {}).get("greeting")
    roots = ask.answer(ctx, "client_roots", types.ListRootsResult)
    if ctx.request_state != "awaiting-three-inputs" or name is None or roots is None or greeting is None:
        return ask.input_required(
            {
                "user_name": NAME_REQUEST,
                "greeting": ask.sampling("Generate a greeting", max_tokens=50),
                "client_roots": ask.list_roots(),
            },
            state="awaiting-three-inputs",
        )
    greeting_text = ask.sampled_text(greeting) if isinstance(greeting, ask.Sampled) else "?"
    return f"Name: {ask.accepted(name, 'name')}; greeting: {greeting_text}; roots: {len(roots.roots)}"


@multi_round.tool
async def input_required_result_multi_round(ctx: CallContext) -> str | types.InputRequiredResult:
    """Three rounds: a name, then a favourite colour (with a new requestState), then the result."""
    state = json.loads(ctx.request_state) if ctx.request_state else {"round": 0}
    if state["round"] == 1 and (step1 := ask.answer(ctx, "step1", types.ElicitResult)) is not None:
        return ask.input_required(
            {
                "step2": ask.elicitation(
                    "Step 2: What is your favorite color?", ask.object_schema(color="string")
                )
            },
            state=json.dumps({"round": 2, "name": ask.accepted(step1, "name")}),
        )
    if state["round"] == 2 and (step2 := ask.answer(ctx, "step2", types.ElicitResult)) is not None:
        return f"Multi-round complete: {state['name']} likes {ask.accepted(step2, 'color')}"
    return ask.input_required(
        {"step1": ask.elicitation("Step 1: What is your name?", ask.object_schema(name="string"))},
        state=json.dumps({"round": 1}),
    )


@multi_round.tool
async def input_required_result_tampered_state(ctx: CallContext) -> str | types.InputRequiredResult:
    """Hands out a requestState; a tampered one is rejected by the gateway before this runs again."""
    if ctx.request_state == "tamper-test" and ask.answer(ctx, "confirm", types.ElicitResult) is not None:
        return "integrity-ok: requestState verified"
    return ask.input_required({"confirm": CONFIRM_REQUEST}, state="tamper-test")


@multi_round.tool
async def input_required_result_capabilities(ctx: CallContext) -> str | types.InputRequiredResult:
    """Asks only for what the client declared it can answer (elicitation, sampling, roots)."""
    if ctx.input_responses:
        return "capabilities-ok: received " + ", ".join(sorted(ctx.input_responses))
    declared = ctx.client_capabilities or types.ClientCapabilities()
    requests: types.InputRequests = {}
    if declared.elicitation is not None:
        requests["elicit_input"] = ask.elicitation("Elicitation input", ask.object_schema(value="string"))
    if declared.sampling is not None:
        requests["sample_input"] = ask.sampling("Sample request", max_tokens=50)
    if declared.roots is not None:
        requests["roots_input"] = ask.list_roots()
    if not requests:
        return "The client declared no capability this tool could use"
    return ask.input_required(requests)
