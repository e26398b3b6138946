"""The GraphQL client against the fake Linear API: credentials, pagination, retries that follow
Linear's rate-limit headers, and every error shape turned into a clear exception."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from fake_linear import ALICE_KEY, ALICE_OAUTH, ENG_ISSUES, FakeLinear
from omni_mcp_linear import queries
from omni_mcp_linear.client import (
    Credential,
    LinearAuthError,
    LinearClient,
    LinearInputError,
    LinearNotFoundError,
    LinearRateLimitError,
    LinearUnavailableError,
    RetryPolicy,
)
from omni_mcp_linear.settings import LinearSettings
from pydantic import SecretStr, ValidationError

pytestmark = pytest.mark.anyio

ENG = {"team": {"key": {"eq": "ENG"}}}


class Sleeps:
    """Records the waits the client asks for instead of waiting: fast and exact."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(
    fake: FakeLinear, sleeps: Sleeps | None = None, key: str = ALICE_KEY, bearer: bool = False, **retry: float
) -> LinearClient:
    policy = RetryPolicy(**{"max_retries": 3, "backoff": 0.25, "max_wait": 5.0, **retry})  # type: ignore[arg-type]
    return LinearClient(
        Credential(SecretStr(key), bearer=bearer), base_url=fake.url, retry=policy, sleep=sleeps or Sleeps()
    )


async def test_personal_key_is_sent_raw_and_oauth_token_as_bearer(fake_linear: FakeLinear) -> None:
    async with client(fake_linear) as raw:
        viewer = await raw.execute(queries.VIEWER)
    async with client(fake_linear, key=ALICE_OAUTH, bearer=True) as oauth:
        same = await oauth.execute(queries.VIEWER)
    assert viewer["viewer"]["email"] == same["viewer"]["email"] == "alice@acme.test"
    assert [r.authorization for r in fake_linear.received] == [ALICE_KEY, f"Bearer {ALICE_OAUTH}"]
    assert "lin_api" not in repr(raw) and "lin_api" not in repr(Credential(SecretStr(ALICE_KEY)))


async def test_pages_follow_end_cursor_through_all_issues(fake_linear: FakeLinear) -> None:
    async with client(fake_linear) as linear:
        _, first = await linear.page(queries.ISSUES, {"first": 50, "filter": ENG}, ("issues",))
        every = [
            issue
            async for issue in linear.iterate(queries.ISSUES, {"filter": ENG}, ("issues",), page_size=50)
        ]
    assert len(first.nodes) == 50 and first.has_next_page and first.next_cursor == first.nodes[-1]["id"]
    identifiers = [issue["identifier"] for issue in every]
    assert len(identifiers) == len(set(identifiers)) == ENG_ISSUES  # the archived 121st is left out
    assert fake_linear.operations() == ["Issues"] * 4  # 50 + 50 + 20, each page once
    assert [r.variables["after"] for r in fake_linear.received[1:]] == [
        None,
        every[49]["id"],
        every[99]["id"],
    ]


async def test_rate_limited_request_waits_as_retry_after_says_then_succeeds(fake_linear: FakeLinear) -> None:
    fake_linear.rate_limit_next(2, retry_after="2")
    sleeps = Sleeps()
    async with client(fake_linear, sleeps) as linear:
        data = await linear.execute(queries.VIEWER)
    assert data["viewer"]["name"] == "Alice Anders"
    assert [r.status for r in fake_linear.received] == [429, 429, 200]
    assert sleeps.waits == [2.0, 2.0]


async def test_retry_after_is_capped(fake_linear: FakeLinear) -> None:
    fake_linear.rate_limit_next(1, retry_after="3600")
    sleeps = Sleeps()
    async with client(fake_linear, sleeps, max_wait=0.5) as linear:
        await linear.execute(queries.VIEWER)
    assert sleeps.waits == [0.5]


async def test_without_retry_after_the_ratelimit_reset_header_decides(fake_linear: FakeLinear) -> None:
    fake_linear.rate_limit_next(1, retry_after=None)  # x-ratelimit-requests-reset is one minute away
    sleeps = Sleeps()
    async with client(fake_linear, sleeps, max_wait=120) as linear:
        await linear.execute(queries.VIEWER)
    assert len(sleeps.waits) == 1 and 55 < sleeps.waits[0] <= 60


async def test_ratelimited_code_on_http_400_is_retried_too(fake_linear: FakeLinear) -> None:
    fake_linear.rate_limit_next(1, retry_after="1", status=400)
    sleeps = Sleeps()
    async with client(fake_linear, sleeps) as linear:
        await linear.execute(queries.VIEWER)
    assert [r.status for r in fake_linear.received] == [400, 200] and sleeps.waits == [1.0]


async def test_rate_limit_exhausted_says_so_with_the_budget(fake_linear: FakeLinear) -> None:
    fake_linear.rate_limit_next(10, retry_after="1")
    sleeps = Sleeps()
    async with client(fake_linear, sleeps, max_retries=2) as linear:
        with pytest.raises(LinearRateLimitError) as caught:
            await linear.execute(queries.VIEWER)
    assert len(fake_linear.received) == 3 and sleeps.waits == [1.0, 1.0]
    message = str(caught.value)
    assert "rate limiting" in message and "RATELIMITED" in message and "after 2 retries" in message
    assert "0 of 1500 requests left" in message and "Try again later" in message


async def test_server_errors_back_off_exponentially_for_queries(fake_linear: FakeLinear) -> None:
    fake_linear.fail_next(2, status=503)
    sleeps = Sleeps()
    async with client(fake_linear, sleeps, backoff=0.25) as linear:
        await linear.execute(queries.TEAMS, {"first": 5})
    assert sleeps.waits == [0.25, 0.5]


async def test_server_errors_exhausted_is_unavailable(fake_linear: FakeLinear) -> None:
    fake_linear.fail_next(5, status=502)
    async with client(fake_linear, max_retries=1) as linear:
        with pytest.raises(LinearUnavailableError, match=r"Linear answered HTTP 502, after 1 retry"):
            await linear.execute(queries.TEAMS, {"first": 5})


async def test_a_mutation_is_not_repeated_after_an_ambiguous_server_error(fake_linear: FakeLinear) -> None:
    fake_linear.fail_next(1, status=500)
    async with client(fake_linear) as linear:
        with pytest.raises(LinearUnavailableError, match="may or may not have been applied"):
            await linear.execute(queries.COMMENT_CREATE, {"input": {"issueId": "ENG-1", "body": "hi"}})
    assert len(fake_linear.received) == 1


async def test_a_mutation_is_retried_when_rate_limited(fake_linear: FakeLinear) -> None:
    fake_linear.rate_limit_next(1)
    async with client(fake_linear) as linear:
        data = await linear.execute(queries.COMMENT_CREATE, {"input": {"issueId": "ENG-1", "body": "hi"}})
    assert data["commentCreate"]["success"] is True
    assert len(fake_linear.store.find_issue("ENG-1")["comments"]) == 4  # type: ignore[index]


@pytest.mark.parametrize("status", [400, 401])
async def test_rejected_key_is_an_authentication_error(fake_linear: FakeLinear, status: int) -> None:
    fake_linear.auth_error_status = status
    async with client(fake_linear, key="lin_api_wrong") as linear:
        with pytest.raises(LinearAuthError, match="You need to authenticate") as caught:
            await linear.execute(queries.VIEWER)
    assert "lin_api_wrong" not in str(caught.value)
    assert len(fake_linear.received) == 1  # never retried


@pytest.mark.parametrize("key", ["lin_api_" + "W" * 40, "a-custom-proxy-credential"])
async def test_an_upstream_echoing_the_credential_does_not_pass_it_on(
    fake_linear: FakeLinear, key: str
) -> None:
    fake_linear.echo_credential = True
    async with client(fake_linear, key=key) as linear:
        with pytest.raises(LinearAuthError, match="You need to authenticate") as caught:
            await linear.execute(queries.VIEWER)
    assert key not in str(caught.value) and "[redacted]" in str(caught.value)


async def test_api_key_sent_as_bearer_is_refused(fake_linear: FakeLinear) -> None:
    async with client(fake_linear, bearer=True) as linear:
        with pytest.raises(LinearAuthError):
            await linear.execute(queries.VIEWER)


async def test_unknown_entity_is_not_found(fake_linear: FakeLinear) -> None:
    async with client(fake_linear) as linear:
        with pytest.raises(LinearNotFoundError, match="Could not find referenced Issue"):
            await linear.execute(queries.ISSUE, {"id": "ENG-9999"})


async def test_input_error_carries_linears_message(fake_linear: FakeLinear) -> None:
    team_id = fake_linear.store.teams[0]["id"]
    async with client(fake_linear) as linear:
        with pytest.raises(LinearInputError, match="Linear rejected the input: Title can't be empty"):
            await linear.execute(queries.ISSUE_CREATE, {"input": {"teamId": team_id, "title": "   "}})


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/graphql"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


async def test_timeouts_are_retried_then_reported(silent_server: str) -> None:
    sleeps = Sleeps()
    linear = LinearClient(
        Credential(SecretStr(ALICE_KEY)),
        base_url=silent_server,
        timeout=0.2,
        retry=RetryPolicy(max_retries=1, backoff=0.1),
        sleep=sleeps,
    )
    async with linear:
        with pytest.raises(LinearUnavailableError, match="no answer from 127.0.0.1 in time.*after 1 retry"):
            await linear.execute(queries.VIEWER)
        with pytest.raises(LinearUnavailableError, match="it may or may not have been applied"):
            await linear.execute(queries.COMMENT_CREATE, {"input": {"issueId": "ENG-1", "body": "x"}})
    assert sleeps.waits == [0.1]


def test_settings_refuse_clear_text_to_remote_hosts_and_two_credentials() -> None:
    assert LinearSettings(base_url="http://127.0.0.1:9/graphql").base_url.startswith("http://127.0.0.1")
    assert LinearSettings(base_url="http://localhost:9/graphql")
    with pytest.raises(ValidationError, match="plain http is only allowed to a loopback host"):
        LinearSettings(base_url="http://linear.example.com/graphql")
    with pytest.raises(ValidationError, match="must be an http"):
        LinearSettings(base_url="ftp://api.linear.app/graphql")
    with pytest.raises(ValidationError, match="either api_key or oauth_token"):
        LinearSettings(api_key=SecretStr("a"), oauth_token=SecretStr("b"))
    assert "lin_api" not in repr(LinearSettings(api_key=SecretStr(ALICE_KEY)))
