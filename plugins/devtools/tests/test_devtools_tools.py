"""The remaining tool groups end to end in both eras: dialogs, frames, files, console, network, emulation,
storage, performance, PDF, checks, and the resources and prompts."""

from __future__ import annotations

import base64
import json

import anyio
import mcp
import mcp.types as types
import pytest
from devtools_helpers import call, fails, text_of, uid_of
from site_server import LocalSite

from omni_mcp.testing import RunningGateway

pytestmark = pytest.mark.anyio


async def read_json(client: mcp.Client, uri: str) -> dict[str, object]:
    content = (await client.read_resource(uri)).contents[0]
    assert isinstance(content, types.TextResourceContents)
    data: dict[str, object] = json.loads(content.text)
    return data


async def test_dialogs_frames_select_and_drag(gateway: RunningGateway, site: LocalSite, era: str) -> None:
    ctx = f"dialogs-{era}"
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        await call(client, "navigate_page", url=site.at("/dialog"), context=ctx)
        snap = text_of(await call(client, "take_snapshot", context=ctx))
        opened = await call(client, "click", uid=uid_of(snap, 'button "Alert"'), context=ctx)
        assert opened.structured_content is not None
        assert opened.structured_content["dialog"] == {"type": "alert", "message": "Hello from alert"}
        busy = await fails(client, "click", uid=uid_of(snap, 'button "Confirm"'), context=ctx)
        assert "dialog is open" in busy
        await call(client, "handle_dialog", action="accept", context=ctx)
        await call(client, "click", uid=uid_of(snap, 'button "Confirm"'), context=ctx)
        await call(client, "handle_dialog", action="dismiss", context=ctx)
        await call(client, "click", uid=uid_of(snap, 'button "Prompt"'), context=ctx)
        answered = await call(client, "handle_dialog", action="accept", prompt_text="Grace", context=ctx)
        assert "prompt" in text_of(answered)
        await call(client, "wait_for", text="answer: Grace", context=ctx)
        assert "No dialog is open" in await fails(client, "handle_dialog", action="accept", context=ctx)

        await call(client, "navigate_page", url=site.at("/iframe"), context=ctx)
        await call(client, "wait_for", selector="iframe", context=ctx)
        framed = text_of(await call(client, "take_snapshot", context=ctx))
        inner = uid_of(framed, 'button "Inner button"')
        assert ".f" in inner  # an element inside the iframe
        clicked = await call(client, "click", uid=inner, include_snapshot=True, context=ctx)
        assert "Inner clicked" in text_of(clicked)

        await call(client, "navigate_page", url=site.at("/form"), context=ctx)
        form = text_of(await call(client, "take_snapshot", context=ctx))
        picked = await call(
            client, "select_option", uid=uid_of(form, 'combobox "Plan"'), values=["Pro"], context=ctx
        )
        assert "Selected pro" in text_of(picked)
        assert "No such" not in text_of(picked)

        await call(client, "navigate_page", url=site.at("/drag"), context=ctx)
        drag = text_of(await call(client, "take_snapshot", context=ctx))
        await call(
            client,
            "drag",
            from_uid=uid_of(drag, "Drag source"),
            to_uid=uid_of(drag, "Drop target"),
            context=ctx,
        )
        await call(client, "wait_for", text="Dropped!", context=ctx)
        await call(client, "close_context", context=ctx)


async def test_files_upload_and_download(gateway: RunningGateway, site: LocalSite, era: str) -> None:
    ctx = f"files-{era}"
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        await call(client, "write_file", name="hello.txt", content="hello upload", context=ctx)
        binary = base64.b64encode(b"\x00\x01\x02").decode()
        await call(client, "write_file", name="data/b.bin", content=binary, encoding="base64", context=ctx)
        outside = await fails(client, "write_file", name="../escape.txt", content="x", context=ctx)
        assert "outside this context's file folder" in outside

        await call(client, "navigate_page", url=site.at("/upload"), context=ctx)
        snap = text_of(await call(client, "take_snapshot", context=ctx))
        file_input = uid_of(snap, "File")
        await call(client, "upload_file", uid=file_input, files=["hello.txt"], context=ctx)
        await call(client, "wait_for", text="Got hello.txt (12 bytes)", context=ctx)
        refused = await fails(client, "upload_file", uid=file_input, files=["/etc/passwd"], context=ctx)
        assert "outside this context's file folder" in refused
        missing = await fails(client, "upload_file", uid=file_input, files=["nope.txt"], context=ctx)
        assert "No file 'nope.txt'" in missing

        await call(client, "navigate_page", url=site.at("/download"), context=ctx)
        link_snap = text_of(await call(client, "take_snapshot", context=ctx))
        await call(client, "click", uid=uid_of(link_snap, 'link "Get report"'), context=ctx)
        listed = await call(client, "list_files", context=ctx)
        assert listed.structured_content is not None
        names = [f["name"] for f in listed.structured_content["files"]]
        assert "hello.txt" in names
        assert "data/b.bin" in names
        # the download is saved in the background; poll the listing until it is there
        with anyio.fail_after(15):
            while not listed.structured_content["downloads"]:
                await anyio.sleep(0.05)
                listed = await call(client, "list_files", context=ctx)
                assert listed.structured_content is not None
        assert "downloads/report.txt" in [f["name"] for f in listed.structured_content["files"]]
        assert listed.structured_content["downloads"][0]["file"] == "downloads/report.txt"
        await call(client, "close_context", context=ctx)


async def test_console_and_network_logs(gateway: RunningGateway, site: LocalSite, era: str) -> None:
    ctx = f"logs-{era}"
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        await call(client, "navigate_page", url=site.at("/console"), context=ctx)
        await call(client, "wait_for", text="console page", context=ctx)
        for _ in range(200):  # the uncaught error is thrown from a timer
            listed = await call(client, "list_console_messages", levels=["error"], context=ctx)
            assert listed.structured_content is not None
            if listed.structured_content["total"] == 2:
                break
            await anyio.sleep(0.05)
        texts = [m["text"] for m in listed.structured_content["items"]]
        assert texts[0] == "boom error"
        assert "uncaught failure" in texts[1]
        everything = await call(client, "list_console_messages", page_size=2, context=ctx)
        assert everything.structured_content is not None
        assert everything.structured_content["has_more"] is True
        assert len(everything.structured_content["items"]) == 2
        first_id = everything.structured_content["items"][0]["id"]
        one = await call(client, "get_console_message", id=first_id, context=ctx)
        assert one.structured_content is not None
        assert one.structured_content["text"] == "hello log"
        assert one.structured_content["location"]["url"] == site.at("/console")
        assert "No console message 99999" in await fails(client, "get_console_message", id=99999, context=ctx)

        await call(client, "navigate_page", url=site.at("/xhr"), context=ctx)
        await call(client, "wait_for", text="fetched 5", context=ctx)
        requests = await call(client, "list_network_requests", resource_types=["fetch", "xhr"], context=ctx)
        assert requests.structured_content is not None
        items = {item["url"]: item for item in requests.structured_content["items"]}
        data, echo = items[site.at("/api/data")], items[site.at("/api/echo")]
        assert (data["type"], data["status"]) == ("fetch", 200)
        assert (echo["type"], echo["method"]) == ("xhr", "POST")
        detail = await call(client, "get_network_request", id=data["id"], max_body_chars=100, context=ctx)
        assert detail.structured_content is not None
        body = detail.structured_content["response_body"]
        assert body.startswith('{"items": [0, 1, 2, 3, 4]')
        assert "[body truncated: 100 of" in body
        uri = body.rsplit("the full body is at ", 1)[1].rstrip("]")
        full = (await client.read_resource(uri)).contents[0]
        assert isinstance(full, types.BlobResourceContents)
        assert json.loads(base64.b64decode(full.blob))["items"] == [0, 1, 2, 3, 4]
        posted = await call(client, "get_network_request", id=echo["id"], context=ctx)
        assert posted.structured_content is not None
        assert posted.structured_content["request_body"] == '{"hello":"world"}'
        assert posted.structured_content["request_headers"]["content-type"] == "application/json"
        documents = await call(client, "list_network_requests", resource_types=["document"], context=ctx)
        assert documents.structured_content is not None
        assert {i["url"] for i in documents.structured_content["items"]} == {
            site.at("/console"),
            site.at("/xhr"),
        }
        await call(client, "close_context", context=ctx)


async def test_emulation(gateway: RunningGateway, site: LocalSite, era: str) -> None:
    ctx = f"emulate-{era}"
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        await call(client, "navigate_page", url=site.at("/form"), context=ctx)

        async def evaluate(function: str) -> object:
            result = await call(client, "evaluate_script", function=function, context=ctx)
            assert result.structured_content is not None
            return result.structured_content["result"]

        await call(
            client, "emulate_viewport", width=375, height=667, device_scale_factor=2, mobile=True, context=ctx
        )
        assert await evaluate("() => [screen.width, devicePixelRatio]") == [375, 2]
        await call(client, "emulate_viewport", device="Pixel 7", context=ctx)
        assert await evaluate("() => [screen.width, navigator.userAgent.includes('Pixel 7')]") == [412, True]
        unknown = await fails(client, "emulate_viewport", device="Pixel", context=ctx)
        assert "Unknown device 'Pixel'; did you mean one of" in unknown
        assert "Give width and height" in await fails(client, "emulate_viewport", width=300, context=ctx)
        await call(client, "emulate_user_agent", user_agent="OmniTestAgent/1.0", context=ctx)
        assert await evaluate("() => navigator.userAgent") == "OmniTestAgent/1.0"
        await call(client, "emulate_color_scheme", scheme="dark", context=ctx)
        assert await evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches") is True
        await call(client, "emulate_geolocation", latitude=48.85, longitude=2.35, context=ctx)
        position = await evaluate(
            "() => new Promise(ok => navigator.geolocation.getCurrentPosition("
            "p => ok([p.coords.latitude, p.coords.longitude])))"
        )
        assert position == [48.85, 2.35]
        await call(client, "emulate_cpu", rate=4, context=ctx)
        await call(client, "emulate_network", preset="Offline", context=ctx)
        offline = await evaluate("() => fetch('/api/data').then(() => 'online', () => 'offline')")
        assert offline == "offline"
        await call(client, "emulate_network", preset="No throttling", context=ctx)
        await call(client, "emulate_network", latency_ms=10, download_kbps=10_000, context=ctx)
        assert await evaluate("() => fetch('/api/data').then(r => r.status)") == 200
        assert "Give a preset" in await fails(client, "emulate_network", context=ctx)
        await call(client, "set_extra_headers", headers={"X-Omni-Test": "yes"}, context=ctx)
        await call(
            client,
            "evaluate_script",
            function="() => fetch('/api/echo', {method: 'POST', body: 'h'})",
            context=ctx,
        )
        requests = await call(client, "list_network_requests", resource_types=["fetch"], context=ctx)
        assert requests.structured_content is not None
        last = requests.structured_content["items"][-1]
        detail = await call(client, "get_network_request", id=last["id"], context=ctx)
        assert detail.structured_content is not None
        assert detail.structured_content["request_headers"]["x-omni-test"] == "yes"
        assert "cannot be set" in await fails(client, "set_extra_headers", headers={"Host": "x"}, context=ctx)
        state = await read_json(client, "devtools://state")
        mine = next(c for c in state["contexts"] if c["context"] == ctx)  # type: ignore[union-attr,index]
        assert mine["emulation"]["color_scheme"] == "dark"
        await call(client, "close_context", context=ctx)


async def test_cookies_and_storage_state(gateway: RunningGateway, site: LocalSite, era: str) -> None:
    ctx, other = f"storage-{era}", f"storage-copy-{era}"
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        await call(client, "navigate_page", url=site.at("/form"), context=ctx)  # sets visited=yes
        await call(client, "set_cookie", name="flavour", value="oat", url=site.url, context=ctx)
        await call(client, "evaluate_script", function="() => localStorage.setItem('k', 'kept')", context=ctx)
        cookies = await call(client, "list_cookies", context=ctx)
        assert cookies.structured_content is not None
        assert {c["name"]: c["value"] for c in cookies.structured_content["cookies"]} == {
            "visited": "yes",
            "flavour": "oat",
        }
        saved = await call(client, "save_storage_state", context=ctx)
        assert saved.structured_content is not None
        assert saved.structured_content["cookies"] == 2
        assert saved.structured_content["origins"] == [site.url]
        state_id = saved.structured_content["state_id"]

        deleted = await call(client, "delete_cookie", name="flavour", context=ctx)
        assert deleted.structured_content == {"deleted": 1}
        cleared = await call(client, "clear_cookies", context=ctx)
        assert cleared.structured_content == {"deleted": 1}
        empty = await call(client, "list_cookies", context=ctx)
        assert empty.structured_content == {"cookies": [], "total": 0}

        # restored into another context of the same caller: cookies and localStorage come back
        await call(client, "restore_storage_state", state_id=state_id, context=other)
        restored = await call(client, "list_cookies", urls=[site.url], context=other)
        assert restored.structured_content is not None
        assert sorted(c["name"] for c in restored.structured_content["cookies"]) == ["flavour", "visited"]
        await call(client, "navigate_page", url=site.at("/storage"), context=other)
        await call(client, "wait_for", text="stored: kept", context=other)
        bogus = await fails(client, "restore_storage_state", state_id="0" * 32, context=other)
        assert "No saved storage state" in bogus
        await call(client, "close_context", context=ctx)
        await call(client, "close_context", context=other)


async def test_performance_trace_metrics_and_pdf(gateway: RunningGateway, site: LocalSite, era: str) -> None:
    ctx = f"perf-{era}"
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        await call(client, "navigate_page", url=site.at("/perf"), context=ctx)
        await call(client, "performance_start_trace", reload=True, context=ctx)
        again = await fails(client, "performance_start_trace", context=ctx)
        assert "already recording" in again
        await call(client, "wait_for", text="shifted", context=ctx)
        stopped = await call(client, "performance_stop_trace", context=ctx)
        summary = stopped.structured_content
        assert summary is not None
        assert summary["long_tasks"] >= 1
        assert summary["longest_tasks_ms"][0] >= 100
        assert summary["main_thread_ms"] >= 100
        assert summary["layout_shifts"] >= 1
        assert summary["cumulative_layout_shift"] > 0
        trace = (await client.read_resource(summary["uri"])).contents[0]
        assert isinstance(trace, types.TextResourceContents)
        assert len(json.loads(trace.text)["traceEvents"]) == summary["events"]
        assert "No trace is recording" in await fails(client, "performance_stop_trace", context=ctx)

        metrics = await call(client, "performance_metrics", context=ctx)
        assert metrics.structured_content is not None
        assert metrics.structured_content["metrics"]["Nodes"] > 0
        assert metrics.structured_content["metrics"]["JSHeapUsedSize"] > 0

        pdf = await call(client, "save_pdf", context=ctx)
        assert pdf.structured_content is not None
        document = (await client.read_resource(pdf.structured_content["uri"])).contents[0]
        assert isinstance(document, types.BlobResourceContents)
        assert document.mime_type == "application/pdf"
        assert base64.b64decode(document.blob).startswith(b"%PDF")
        await call(client, "close_context", context=ctx)


async def test_checks_are_kept_as_results(gateway: RunningGateway, site: LocalSite, era: str) -> None:
    ctx = f"checks-{era}"
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        await call(client, "navigate_page", url=site.at("/form"), context=ctx)
        passed = await call(client, "verify_text_visible", text="Sign up", context=ctx)
        assert text_of(passed) == "PASSED: text visible 'Sign up'."
        failed = await fails(client, "verify_text_visible", text="Not on the page", timeout=0.2, context=ctx)
        assert failed.startswith("FAILED: text visible")
        await call(client, "verify_element_visible", role="button", name="Send", context=ctx)
        await fails(client, "verify_element_visible", role="button", name="Nope", timeout=0.2, context=ctx)
        snap = text_of(await call(client, "take_snapshot", context=ctx))
        name = uid_of(snap, 'textbox "Name"')
        await call(client, "fill", uid=name, value="Ada", context=ctx)
        ok = await call(client, "verify_value", uid=name, value="Ada", context=ctx)
        assert ok.structured_content is not None
        wrong = await fails(client, "verify_value", uid=name, value="Bob", context=ctx)
        assert "found 'Ada'" in wrong

        listing = await read_json(client, "devtools://results")
        newest = listing["results"][:6]  # type: ignore[index]
        assert [r["passed"] for r in newest] == [False, True, False, True, False, True]
        one = await read_json(client, newest[0]["uri"])
        assert one["check"] == f"value of {name}"
        assert one["expected"] == "Bob"
        with pytest.raises(mcp.MCPError, match="Resource not found"):
            await client.read_resource("devtools://results/" + "0" * 32)
        await call(client, "close_context", context=ctx)


async def test_prompts_are_listed_and_render(gateway: RunningGateway, era: str) -> None:
    async with mcp.Client(gateway.mcp_url, mode=era) as client:
        names = [p.name for p in (await client.list_prompts()).prompts]
        assert "devtools_automation_workflow" in names
        assert "devtools_debugging_workflow" in names
        rendered = await client.get_prompt(
            "devtools_debugging_workflow", {"problem": "the cart is empty", "url": "https://shop.example"}
        )
        message = rendered.messages[0].content
        assert isinstance(message, types.TextContent)
        assert "the cart is empty" in message.text
        assert "devtools_list_console_messages" in message.text
