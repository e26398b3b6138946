"""The URL policy on its own: which addresses and schemes are refused, and how patterns combine."""

from __future__ import annotations

import pytest
from omni_mcp_devtools.policy import PolicyRefusal, UrlPolicy

pytestmark = pytest.mark.anyio

DEFAULT = UrlPolicy()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://0.0.0.0:8080/",
        "http://[::1]/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",  # 127.0.0.1 written as one number
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http://localhost:37373/health",
        "ws://127.0.0.1:9222/devtools/browser",
    ],
)
async def test_internal_addresses_are_refused(url: str) -> None:
    with pytest.raises(PolicyRefusal, match="loopback, private or link-local"):
        await DEFAULT.check(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "the file: scheme is not allowed"),
        ("chrome://settings", "the chrome: scheme is not allowed"),
        ("view-source:https://example.com/", "the view-source: scheme is not allowed"),
        ("javascript:alert(1)", "the javascript: scheme is not allowed"),
        ("ftp://example.com/", "the ftp: scheme is not allowed"),
        ("http:///nohost", "has no host"),
        ("http://no-such-host.invalid/", "does not resolve"),
    ],
)
async def test_other_refusals_say_why(url: str, reason: str) -> None:
    with pytest.raises(PolicyRefusal, match=reason):
        await DEFAULT.check(url)


async def test_inline_content_is_not_fetched_so_not_refused() -> None:
    for url in ("about:blank", "data:text/html,<p>hi</p>", "blob:https://example.com/1234"):
        await DEFAULT.check(url)


async def test_the_operator_allows_and_blocks_and_an_organization_only_narrows() -> None:
    policy = UrlPolicy(operator_allowed=("http://127.0.0.1:8000/*",), operator_blocked=("*/admin*",))
    await policy.check("http://127.0.0.1:8000/app")
    with pytest.raises(PolicyRefusal, match="loopback"):
        await policy.check("http://127.0.0.1:8001/app")  # another port is not allowed
    with pytest.raises(PolicyRefusal, match="the operator's policy"):
        await policy.check("http://127.0.0.1:8000/admin/users")  # blocked wins over allowed

    narrowed = UrlPolicy(
        operator_allowed=policy.operator_allowed,
        organization_allowed=("http://127.0.0.1:8000/docs*",),
        organization_blocked=("*secret*",),
    )
    await narrowed.check("http://127.0.0.1:8000/docs/a")
    with pytest.raises(PolicyRefusal, match="not in this organization's allowed URLs"):
        await narrowed.check("http://127.0.0.1:8000/app")
    with pytest.raises(PolicyRefusal, match="this organization's policy"):
        await narrowed.check("http://127.0.0.1:8000/docs/secret")
    # An organization's allow-list cannot reach what the operator does not allow.
    widening = UrlPolicy(organization_allowed=("http://10.0.0.1/*",))
    with pytest.raises(PolicyRefusal, match="loopback, private or link-local"):
        await widening.check("http://10.0.0.1/x")


def test_tunnels_are_checked_by_origin() -> None:
    policy = UrlPolicy(
        operator_allowed=("https://intranet.example/app/*",),
        operator_blocked=("https://blocked.example/*",),
        organization_allowed=("https://*.example/*",),
    )
    assert policy.origin_trusted("https://intranet.example/")
    assert not policy.origin_trusted("https://other.example/")
    policy.check_origin("https://intranet.example/")
    with pytest.raises(PolicyRefusal, match="the operator's policy"):
        policy.check_origin("https://blocked.example/")
    with pytest.raises(PolicyRefusal, match="not in this organization's allowed URLs"):
        policy.check_origin("https://example.org/")
