"""Default prompts (organizations can override or hide them): an automation and a debugging workflow."""

from __future__ import annotations

from omni_mcp import Prompt, PromptArgument

AUTOMATION = """\
Automate this task in the browser: {task}
Start at: {url}

Work with the devtools tools, one step at a time:
1. Open the start page with devtools_navigate_page (type "url").
2. Take devtools_take_snapshot and read it. Elements carry ids like uid=1.2.e5; act on them with
   devtools_click, devtools_fill, devtools_fill_form, devtools_select_option, devtools_press_key,
   devtools_upload_file (files written with devtools_write_file first).
3. After each action that changes the page, take a new snapshot (or pass include_snapshot: true) and use
   only ids from the newest snapshot: ids of an earlier document are stale and refused.
4. If a dialog opens, decide, then devtools_handle_dialog.
5. Confirm the outcome with devtools_verify_text_visible / devtools_verify_element_visible /
   devtools_verify_value; their results are kept in devtools://results.
6. Report what you did and what the page shows now. Do not enter secrets you were not given.
"""

DEBUGGING = """\
Debug this problem on a web page: {problem}
Page: {url}

1. Load the page with devtools_navigate_page and reproduce the problem (snapshot, then the actions).
2. Read devtools_list_console_messages (levels ["error", "warning"]) and open the relevant ones with
   devtools_get_console_message.
3. Read devtools_list_network_requests (resource_types ["xhr", "fetch", "document"]); for failed or
   suspicious requests use devtools_get_network_request to see headers and bodies.
4. Check state with devtools_evaluate_script and devtools_list_cookies.
5. If it is slow, record devtools_performance_start_trace / devtools_performance_stop_trace and read
   devtools_performance_metrics.
6. Conclude: the cause, the evidence (message ids, request ids), and a fix to try.
"""

PROMPTS = [
    Prompt(
        "devtools_automation_workflow",
        "Automate a task in the browser step by step: navigate, snapshot, act by element id, verify",
        (
            PromptArgument("task", "What to do in the browser", required=True),
            PromptArgument("url", "The page to start at", required=True),
        ),
        template=AUTOMATION,
        title="Browser automation workflow",
    ),
    Prompt(
        "devtools_debugging_workflow",
        "Find why a web page misbehaves: console, network, state and performance, with evidence",
        (
            PromptArgument("problem", "What goes wrong", required=True),
            PromptArgument("url", "The page where it happens", required=True),
        ),
        template=DEBUGGING,
        title="Web page debugging workflow",
    ),
]
