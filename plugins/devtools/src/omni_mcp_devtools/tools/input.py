"""Input: click, hover, fill, fill a form, type, press keys, drag, select, upload, dialogs, files."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from omni_mcp import CallContext, ToolError, ToolResult
from omni_mcp_devtools.tools.common import (
    ACTS,
    READ_ONLY,
    ContextName,
    IncludeSnapshot,
    PageId,
    Uid,
    action_result,
    session_of,
    tool,
)

Key = Annotated[
    str,
    Field(min_length=1, max_length=64, description="A key or chord, e.g. Enter, Tab, ArrowDown, Control+A"),
]


MAX_FILES_LISTED = 500


class FormField(BaseModel):
    uid: Uid
    value: Annotated[str, Field(max_length=100_000, description="Text to fill (or option to pick)")]


@tool(annotations=ACTS)
async def click(
    ctx: CallContext,
    uid: Uid,
    double: Annotated[bool, Field(description="Double-click instead")] = False,
    button: Literal["left", "right", "middle"] = "left",
    include_snapshot: IncludeSnapshot = False,
    context: ContextName = None,
) -> ToolResult:
    """Click (or double-click) an element by its snapshot id."""
    session = await session_of(ctx, context)
    state, locator = await session.element(uid)
    if double:
        _r, dialog = await session.run(state, lambda: locator.dblclick(button=button))
    else:
        _r, dialog = await session.run(state, lambda: locator.click(button=button))
    verb = "Double-clicked" if double else "Clicked"
    return await action_result(ctx, session, state, f"{verb} {uid}.", dialog, include_snapshot)


@tool(annotations=ACTS)
async def hover(
    ctx: CallContext, uid: Uid, include_snapshot: IncludeSnapshot = False, context: ContextName = None
) -> ToolResult:
    """Move the mouse over an element."""
    session = await session_of(ctx, context)
    state, locator = await session.element(uid)
    _r, dialog = await session.run(state, lambda: locator.hover())
    return await action_result(ctx, session, state, f"Hovering over {uid}.", dialog, include_snapshot)


@tool(annotations=ACTS)
async def fill(
    ctx: CallContext,
    uid: Uid,
    value: Annotated[str, Field(max_length=100_000, description="The text to put in the field")],
    include_snapshot: IncludeSnapshot = False,
    context: ContextName = None,
) -> ToolResult:
    """Replace the value of a text field, text area or contenteditable element (or pick a <select> option)."""
    session = await session_of(ctx, context)
    state, locator = await session.element(uid)
    tag = await locator.evaluate("e => e.tagName")
    if tag == "SELECT":
        _r, dialog = await session.run(state, lambda: locator.select_option(value))
    else:
        _r, dialog = await session.run(state, lambda: locator.fill(value))
    return await action_result(ctx, session, state, f"Filled {uid}.", dialog, include_snapshot)


@tool(annotations=ACTS)
async def fill_form(
    ctx: CallContext,
    elements: Annotated[list[FormField], Field(min_length=1, max_length=100, description="Fields to fill")],
    include_snapshot: IncludeSnapshot = False,
    context: ContextName = None,
) -> ToolResult:
    """Fill several form fields at once (text fields, and <select> options by value or label)."""
    session = await session_of(ctx, context)
    located = [(field, *(await session.element(field.uid))) for field in elements]
    state = located[0][1]
    for field, _state, locator in located:
        tag = await locator.evaluate("e => e.tagName")
        if tag == "SELECT":
            await locator.select_option(field.value)
        else:
            await locator.fill(field.value)
    return await action_result(
        ctx, session, state, f"Filled {len(elements)} field(s).", None, include_snapshot
    )


@tool(annotations=ACTS)
async def type_text(
    ctx: CallContext,
    text: Annotated[str, Field(min_length=1, max_length=10_000, description="Text to type, key by key")],
    uid: Annotated[str | None, Field(description="Element to focus first (default: the focused one)")] = None,
    submit_key: Annotated[
        str | None, Field(max_length=64, description="Key to press after, e.g. Enter")
    ] = None,
    page: PageId = None,
    include_snapshot: IncludeSnapshot = False,
    context: ContextName = None,
) -> ToolResult:
    """Type text as key presses into the focused element (or the element `uid`), then optionally a key."""
    session = await session_of(ctx, context)
    if uid is not None:
        state, locator = await session.element(uid)
        await locator.focus()
    else:
        state = session.page(page)
    keyboard = state.page.keyboard

    async def typing() -> None:
        await keyboard.type(text)
        if submit_key:
            await keyboard.press(submit_key)

    _r, dialog = await session.run(state, typing)
    return await action_result(
        ctx, session, state, f"Typed {len(text)} character(s).", dialog, include_snapshot
    )


@tool(annotations=ACTS)
async def press_key(
    ctx: CallContext,
    key: Key,
    uid: Annotated[
        str | None, Field(description="Element to press the key on (default: the focused one)")
    ] = None,
    page: PageId = None,
    include_snapshot: IncludeSnapshot = False,
    context: ContextName = None,
) -> ToolResult:
    """Press a key or a chord such as Control+A."""
    session = await session_of(ctx, context)
    if uid is not None:
        state, locator = await session.element(uid)
        _r, dialog = await session.run(state, lambda: locator.press(key))
    else:
        state = session.page(page)
        _r, dialog = await session.run(state, lambda: state.page.keyboard.press(key))
    return await action_result(ctx, session, state, f"Pressed {key}.", dialog, include_snapshot)


@tool(annotations=ACTS)
async def drag(
    ctx: CallContext,
    from_uid: Uid,
    to_uid: Uid,
    include_snapshot: IncludeSnapshot = False,
    context: ContextName = None,
) -> ToolResult:
    """Drag one element onto another."""
    session = await session_of(ctx, context)
    state, source = await session.element(from_uid)
    _target_state, target = await session.element(to_uid)
    _r, dialog = await session.run(state, lambda: source.drag_to(target))
    return await action_result(
        ctx, session, state, f"Dragged {from_uid} onto {to_uid}.", dialog, include_snapshot
    )


@tool(annotations=ACTS)
async def select_option(
    ctx: CallContext,
    uid: Uid,
    values: Annotated[list[str], Field(min_length=1, max_length=100, description="Option values or labels")],
    include_snapshot: IncludeSnapshot = False,
    context: ContextName = None,
) -> ToolResult:
    """Select one or more options of a <select> element, by value or label."""
    session = await session_of(ctx, context)
    state, locator = await session.element(uid)
    chosen = await locator.select_option(values)
    if not chosen:
        raise ToolError(f"None of {values} is an option of {uid}")
    return await action_result(ctx, session, state, f"Selected {', '.join(chosen)}.", None, include_snapshot)


@tool(annotations=ACTS)
async def upload_file(
    ctx: CallContext,
    uid: Annotated[str, Field(description="The file input's id (or a button that opens a file chooser)")],
    files: Annotated[
        list[str], Field(min_length=1, max_length=20, description="Names of files in your context's folder")
    ],
    include_snapshot: IncludeSnapshot = False,
    context: ContextName = None,
) -> ToolResult:
    """Upload files from your context's folder (see devtools_write_file and devtools_list_files)."""
    session = await session_of(ctx, context)
    paths = [session.path_in_folder(name) for name in files]
    missing = [name for name, path in zip(files, paths, strict=True) if not path.is_file()]
    if missing:
        raise ToolError(f"No file {missing[0]!r} in this context's folder (see devtools_list_files)")
    state, locator = await session.element(uid)
    if await locator.evaluate("e => e.tagName === 'INPUT' && e.type === 'file'"):
        await locator.set_input_files(paths)
    else:
        async with state.page.expect_file_chooser() as chooser:
            await locator.click()
        await (await chooser.value).set_files(paths)
    return await action_result(ctx, session, state, f"Uploaded {', '.join(files)}.", None, include_snapshot)


@tool(annotations=ACTS)
async def handle_dialog(
    ctx: CallContext,
    action: Annotated[Literal["accept", "dismiss"], Field(description="Accept (OK) or dismiss (Cancel)")],
    prompt_text: Annotated[str | None, Field(max_length=10_000, description="Answer to a prompt()")] = None,
    page: PageId = None,
    context: ContextName = None,
) -> ToolResult:
    """Accept or dismiss the open alert, confirm, prompt or beforeunload dialog of a page."""
    session = await session_of(ctx, context)
    state = session.page(page, dialog_ok=True)
    dialog = state.dialog
    if dialog is None:
        raise ToolError(f"No dialog is open on page {state.id}")
    state.dialog = None
    if action == "accept":
        await dialog.accept(prompt_text) if prompt_text is not None else await dialog.accept()
    else:
        await dialog.dismiss()
    return ToolResult(
        text=f"{action.capitalize()}ed the {dialog.type} dialog {dialog.message!r}.",
        structured={"page": state.id, "type": dialog.type, "message": dialog.message, "action": action},
    )


@tool(annotations=ACTS)
async def write_file(
    ctx: CallContext,
    name: Annotated[
        str, Field(min_length=1, max_length=255, description="File name in your context's folder")
    ],
    content: Annotated[str, Field(description="The file's content")],
    encoding: Annotated[Literal["text", "base64"], Field(description="How content is encoded")] = "text",
    context: ContextName = None,
) -> ToolResult:
    """Write a file into your context's folder, for devtools_upload_file."""
    session = await session_of(ctx, context)
    path = session.path_in_folder(name)
    try:
        data = base64.b64decode(content, validate=True) if encoding == "base64" else content.encode()
    except (binascii.Error, ValueError):
        raise ToolError("content is not valid base64") from None
    if len(data) > session.settings.max_upload_bytes:
        raise ToolError(
            f"The file is larger than max_upload_bytes ({session.settings.max_upload_bytes} bytes)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return ToolResult(
        text=f"Wrote {len(data)} bytes to {name}.", structured={"name": name, "bytes": len(data)}
    )


@tool(annotations=READ_ONLY)
async def list_files(ctx: CallContext, context: ContextName = None) -> ToolResult:
    """List the files in your context's folder: those you wrote and the page's downloads."""
    session = await session_of(ctx, context)
    files = sorted(
        (str(p.relative_to(session.folder)), p.stat().st_size)
        for p in session.folder.rglob("*")
        if p.is_file()
    )
    listed = [{"name": name, "bytes": size} for name, size in files[:MAX_FILES_LISTED]]
    text = "\n".join(f"{f['name']} ({f['bytes']} bytes)" for f in listed) or "The folder is empty."
    if len(files) > MAX_FILES_LISTED:
        text += f"\n… [{len(files) - MAX_FILES_LISTED} more files not shown]"
    return ToolResult(text=text, structured={"files": listed, "downloads": list(session.downloads)})
