"""The core tools end to end, through a real server and the official MCP client, in both eras:
pages, navigation, snapshots with stable ids, input, screenshots, scripts."""

from __future__ import annotations

import base64

import mcp
import mcp.types as types
import pytest
from devtools_helpers import call, fails, text_of, uid_of
from site_server import LocalSite

from omni_mcp.testing import RunningGateway

pytestmark = pytest.mark.anyio


async def test_navigate_snapshot_and_fill_a_form(gateway: RunningGateway, site: LocalSite, era: str) -> None:
    ctx = f"form-{era}"
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        opened = await call(client, "navigate_page", url=site.at("/form"), context=ctx)
        assert f"is at {site.at('/form')} ('Form')" in text_of(opened)
        snap = text_of(await call(client, "take_snapshot", context=ctx))
        name, plan, note = (
            uid_of(snap, 'textbox "Name"'),
            uid_of(snap, 'combobox "Plan"'),
            uid_of(snap, "Note"),
        )
        send = uid_of(snap, 'button "Send"')
        # ids are stable across snapshots of the same node
        again = text_of(await call(client, "take_snapshot", context=ctx))
        assert uid_of(again, 'button "Send"') == send

        await call(client, "fill", uid=name, value="Ada", context=ctx)
        await call(
            client,
            "fill_form",
            elements=[{"uid": plan, "value": "pro"}, {"uid": note, "value": "hi there"}],
            context=ctx,
        )
        clicked = await call(client, "click", uid=send, include_snapshot=True, context=ctx)
        assert "Submitted: Ada / pro / hi there" in text_of(clicked)

        found = await call(client, "find_in_snapshot", query="hover me", context=ctx)
        hov = uid_of(text_of(found), "Hover me")
        await call(client, "hover", uid=hov, context=ctx)
        assert 'button "Hovered"' in text_of(await call(client, "take_snapshot", context=ctx))

        dbl = uid_of(snap, "Double me")
        await call(client, "click", uid=dbl, double=True, context=ctx)
        keys = uid_of(snap, 'textbox "Keys"')
        await call(client, "type_text", text="abc", uid=keys, submit_key="Enter", context=ctx)
        await call(client, "press_key", key="ArrowDown", uid=keys, context=ctx)
        value = await call(client, "evaluate_script", function="(el) => el.value", uid=keys, context=ctx)
        assert value.structured_content == {"result": "abc"}
        after = text_of(await call(client, "take_snapshot", context=ctx))
        assert "Double clicked" in after
        assert "Key: ArrowDown" in after

        # a new document makes the old ids stale
        await call(client, "navigate_page", type="reload", context=ctx)
        stale = await fails(client, "click", uid=send, context=ctx)
        assert "stale snapshot" in stale
        await call(client, "close_context", context=ctx)


async def test_pages_select_close_back_forward_and_wait(
    gateway: RunningGateway, site: LocalSite, era: str
) -> None:
    ctx = f"pages-{era}"
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        first = await call(client, "new_page", url=site.at("/form"), context=ctx)
        assert first.structured_content is not None
        first_id = first.structured_content["page"]
        await call(client, "navigate_page", url=site.at("/dialog"), context=ctx)
        back = await call(client, "navigate_page", type="back", context=ctx)
        assert site.at("/form") in text_of(back)
        forward = await call(client, "navigate_page", type="forward", context=ctx)
        assert site.at("/dialog") in text_of(forward)

        second = await call(client, "new_page", url=site.at("/late"), context=ctx)
        assert second.structured_content is not None
        second_id = second.structured_content["page"]
        waited = await call(client, "wait_for", text="Finally here", context=ctx)
        assert "is visible" in text_of(waited)
        await call(client, "wait_for", selector="#l", context=ctx)
        listed = await call(client, "list_pages", context=ctx)
        assert listed.structured_content is not None
        pages = listed.structured_content["pages"]
        assert [p["id"] for p in pages] == [first_id, second_id]
        assert [p["selected"] for p in pages] == [False, True]

        await call(client, "select_page", page_id=first_id, context=ctx)
        title = await call(client, "evaluate_script", function="() => document.title", context=ctx)
        assert title.structured_content == {"result": "Dialogs"}
        await call(client, "close_page", page_id=first_id, context=ctx)
        listed = await call(client, "list_pages", context=ctx)
        assert listed.structured_content is not None
        assert [p["id"] for p in listed.structured_content["pages"]] == [second_id]
        missing = await fails(client, "select_page", page_id=first_id, context=ctx)
        assert f"No page {first_id}" in missing

        contexts = await call(client, "list_contexts")
        assert contexts.structured_content is not None
        assert ctx in [c["context"] for c in contexts.structured_content["contexts"]]
        await call(client, "close_context", context=ctx)
        gone = await fails(client, "close_context", context=ctx)
        assert f"No open browser context named {ctx!r}" in gone


async def test_screenshots_are_images_and_resources(
    gateway: RunningGateway, site: LocalSite, era: str
) -> None:
    ctx = f"shot-{era}"
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        await call(client, "navigate_page", url=site.at("/form"), context=ctx)
        shot = await call(client, "take_screenshot", context=ctx)
        image = next(b for b in shot.content if isinstance(b, types.ImageContent))
        assert base64.b64decode(image.data).startswith(b"\x89PNG")
        resource_link = next(b for b in shot.content if isinstance(b, types.ResourceLink))
        read = (await client.read_resource(str(resource_link.uri))).contents[0]
        assert isinstance(read, types.BlobResourceContents)
        assert read.mime_type == "image/png"
        assert base64.b64decode(read.blob) == base64.b64decode(image.data)

        snap = text_of(await call(client, "take_snapshot", context=ctx))
        element = await call(
            client,
            "take_screenshot",
            uid=uid_of(snap, 'button "Send"'),
            format="jpeg",
            quality=50,
            context=ctx,
        )
        jpeg = next(b for b in element.content if isinstance(b, types.ImageContent))
        assert jpeg.mime_type == "image/jpeg"
        assert base64.b64decode(jpeg.data).startswith(b"\xff\xd8")
        full = await call(client, "take_screenshot", full_page=True, context=ctx)
        assert full.structured_content is not None
        assert full.structured_content["bytes"] > 0
        await call(client, "close_context", context=ctx)


async def test_evaluate_script_results_and_errors(gateway: RunningGateway, site: LocalSite, era: str) -> None:
    ctx = f"eval-{era}"
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        await call(client, "navigate_page", url=site.at("/form"), context=ctx)
        summed = await call(
            client, "evaluate_script", function="(a, b) => ({sum: a + b})", args=[2, 3], context=ctx
        )
        assert summed.structured_content == {"result": {"sum": 5}}
        broken = await fails(
            client, "evaluate_script", function="() => { throw new Error('nope') }", context=ctx
        )
        assert "nope" in broken
        bad_uid = await fails(client, "click", uid="not-an-id", context=ctx)
        assert "is not an element id" in bad_uid
        await call(client, "close_context", context=ctx)


async def test_large_output_is_cut_with_a_marker_and_kept_whole_as_a_resource(
    gateway: RunningGateway, site: LocalSite, era: str
) -> None:
    ctx = f"bounded-{era}"
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        await call(client, "navigate_page", url=site.at("/big"), context=ctx)
        cut = text_of(await call(client, "take_snapshot", max_chars=500, context=ctx))
        head, marker = cut.split("\n… [truncated: 500 of ", 1)
        assert len(head) == 500
        uri = marker.rsplit("the full text is at ", 1)[1].rstrip("]")
        whole = (await client.read_resource(uri)).contents[0]
        assert isinstance(whole, types.TextResourceContents)
        assert whole.text.startswith(head)
        assert whole.text.count("lorem ipsum") == 3000

        await call(client, "evaluate_script", function="() => console.log('x'.repeat(50000))", context=ctx)
        listed = await call(client, "list_console_messages", context=ctx)
        assert listed.structured_content is not None
        message = listed.structured_content["items"][-1]["text"]
        assert message.endswith("… [truncated: 10000 of 50000 characters]")
        too_big = await fails(client, "write_file", name="big.bin", content="x" * 3_000_000, context=ctx)
        assert "larger than max_upload_bytes" in too_big
        await call(client, "close_context", context=ctx)
