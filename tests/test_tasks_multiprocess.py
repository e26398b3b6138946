"""Tasks across two real `omni-mcp serve` processes on one database (PostgreSQL when
$OMNI_MCP_TEST_DATABASE_URL names one): one runs the task, the other answers for it, also after the
runner is killed."""

from __future__ import annotations

import anyio
import pytest

from omni_mcp.testing import fresh_database_url
from tests.test_multiprocess import base_env, start_servers, stop
from tests.test_tasks_extension import Caller

pytestmark = pytest.mark.anyio
pytest.importorskip(
    "omni_mcp_conformance_fixture",
    reason="needs the conformance fixture plugin: pip install -e tests/conformance_plugin",
)


async def test_a_task_run_by_one_process_is_answered_by_another_even_after_its_runner_dies() -> None:
    with fresh_database_url() as url:
        env = base_env(url, OMNI_MCP_TASKS__LEASE="1")
        env["OMNI_MCP_PLUGINS__ALLOW"] = '["conformance"]'  # its slow_compute tool runs as a task
        env["OMNI_MCP_RATE_LIMIT__ENABLED"] = "false"
        (runner_url, runner), (reader_url, reader) = servers = start_servers(env)
        try:
            on_runner, on_reader = Caller(runner_url + "/mcp"), Caller(reader_url + "/mcp")
            quick = await on_runner.result(
                "tools/call", {"name": "slow_compute", "arguments": {"seconds": 0.2}}
            )
            done = await on_reader.settled(quick["taskId"])
            assert done["status"] == "completed" and "Computed" in done["result"]["content"][0]["text"]

            long = await on_runner.result(
                "tools/call", {"name": "slow_compute", "arguments": {"seconds": 60}}
            )
            assert (await on_reader.result("tasks/get", {"taskId": long["taskId"]}))["status"] == "working"
            runner.kill()  # no shutdown: the task is left `working` in the database
            runner.communicate(timeout=30)  # also closes its output pipe
            with anyio.fail_after(20):
                while True:  # the reader notices once the dead runner's lease (1 s) has run out
                    task = await on_reader.result("tasks/get", {"taskId": long["taskId"]})
                    if task["status"] != "working":
                        break
                    await anyio.sleep(0.1)
            assert task["status"] == "failed" and "stopped" in task["error"]["message"]
        finally:
            stop([(reader_url, reader)])
            if runner.poll() is None:
                stop([(runner_url, runner)])
            del servers
