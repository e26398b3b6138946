"""What resolving the caller costs per request, measured in-process, without HTTP noise.

    python benchmarks/auth_path.py                 # API keys, and RS256/ES256 tokens
    python benchmarks/auth_path.py --calls 50000

The real `ActorMiddleware` of a started gateway runtime (fresh SQLite file, the default plugins: API
keys, OIDC, permissions) resolves the same request again and again in front of an application that does
nothing, for each kind of caller:

- `local`: local mode, no credential (what `gateway` in gateway_vs_bare.py measures);
- `api key`: local mode off, `Authorization: Bearer omk_...` of a member key with a tool allow-list,
  made by `ApiKeyService` as the CLI does (verified once against the database, then from the cache);
- `RS256 token` / `ES256 token`: an OIDC access token from a local issuer (tests/oidc_issuer.py, a real
  uvicorn server publishing metadata and JWKS); keys are fetched once, then the signature is checked
  on every request.

It prints the time per resolution (best of --repeats runs of --calls each: the least disturbed one)
and what each credential adds over local mode. gateway_vs_bare.py --auth gives the same cost end to end;
this one is exact enough to see a few microseconds. Run from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio.to_thread

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.oidc_issuer, the issuer the test suite uses

from starlette.types import Message, Receive, Scope, Send  # noqa: E402

from omni_mcp.app import prepare_database  # noqa: E402
from omni_mcp.auth.actor_scope import ACTOR_SCOPE_KEY, ActorMiddleware  # noqa: E402
from omni_mcp.db.engine import create_db_engine  # noqa: E402
from omni_mcp.default_plugins.api_keys import api_key_service  # noqa: E402
from omni_mcp.plugins import get_plugin_manager  # noqa: E402
from omni_mcp.runtime import Runtime  # noqa: E402
from omni_mcp.testing import make_test_settings  # noqa: E402
from tests.oidc_issuer import AUDIENCE, TestIssuer, running_issuer  # noqa: E402


async def nothing(scope: Scope, receive: Receive, send: Send) -> None:
    """The application behind the middleware: answers nothing, so only resolving the caller is timed."""


async def no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def refused(message: Message) -> None:
    raise RuntimeError(f"the caller was refused: {message}")


def scope_with(headers: dict[str, str]) -> Scope:
    raw = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return {
        "type": "http",
        "method": "POST",
        "path": "/mcp",
        "raw_path": b"/mcp",
        "query_string": b"",
        "headers": raw,
        "scheme": "http",
        "server": ("127.0.0.1", 37373),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "http_version": "1.1",
    }


async def time_resolution(middleware: ActorMiddleware, headers: dict[str, str], calls: int) -> float:
    """Seconds per request through the middleware (the scope is rebuilt each time, as uvicorn does)."""
    check = scope_with(headers)
    await middleware(check, no_body, refused)
    if ACTOR_SCOPE_KEY not in check:
        raise RuntimeError("the middleware resolved no caller")
    started = time.perf_counter()
    for _ in range(calls):
        await middleware(scope_with(headers), no_body, refused)
    return (time.perf_counter() - started) / calls


async def measure(args: argparse.Namespace, issuer: TestIssuer, workdir: Path) -> dict[str, list[float]]:
    settings = make_test_settings(
        f"sqlite:///{workdir / 'auth.db'}",
        auth={"local_mode": False, "issuers": [issuer.url], "resource": AUDIENCE},
    )
    runtime = Runtime(settings, get_plugin_manager(settings.plugins), create_db_engine(settings.database))
    await anyio.to_thread.run_sync(prepare_database, runtime)
    await runtime.start()
    try:
        await anyio.to_thread.run_sync(lambda: runtime.tenancy.create_organization("acme", actor="benchmark"))
        key = (
            api_key_service(runtime)
            .create("acme", role="member", actor="benchmark", tools=["bench_echo"])
            .key
        )
        cases: dict[str, tuple[ActorMiddleware, dict[str, str]]] = {
            "local": (ActorMiddleware(nothing, runtime=runtime, mcp_path="/mcp", local_mode=True), {}),
        }
        keyed = ActorMiddleware(nothing, runtime=runtime, mcp_path="/mcp", local_mode=False)
        token_lifetime = {"exp": int(time.time()) + 3600}
        cases["api key"] = (keyed, {"authorization": f"Bearer {key}"})
        for name in ("rsa", "ec"):
            token = issuer.token(key=name, org_id="acme", **token_lifetime)
            cases[f"{'RS256' if name == 'rsa' else 'ES256'} token"] = (
                keyed,
                {"authorization": f"Bearer {token}"},
            )
        timings: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeats):
            for name, (middleware, headers) in cases.items():  # interleaved: drift hits every case alike
                timings[name].append(await time_resolution(middleware, headers, args.calls))
        return timings
    finally:
        await runtime.stop()
        runtime.engine.dispose()


def report(timings: dict[str, list[float]], per_request_us: float | None) -> None:
    best = {name: min(values) * 1e6 for name, values in timings.items()}
    local = best["local"]
    print(
        f"{'caller':<14} {'us/request':>10} {'median':>8} {'added':>8}"
        + ("  of a request" if per_request_us else "")
    )
    for name, value in best.items():
        median = statistics.median(timings[name]) * 1e6
        added = value - local
        share = f"  {added / per_request_us * 100:5.1f}%" if per_request_us and name != "local" else ""
        print(f"{name:<14} {value:>10.1f} {median:>8.1f} {added:>+8.1f}{share}")
    if per_request_us:
        print(
            f"(share: the added time over {per_request_us:.0f} us, the gateway's CPU per request "
            "given with --request-us)"
        )
    added = ", ".join(f"{name} {best[name] - local:+.1f} us" for name in best if name != "local")
    print(f"summary: resolving the caller, local mode {local:.1f} us/request; added by {added}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=20_000, help="requests per timed run (default 20000)")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed runs per case; the best counts (default 5)"
    )
    parser.add_argument(
        "--request-us",
        type=float,
        default=None,
        help="the gateway's CPU per request (CPU us/req of gateway_vs_bare.py), to show the cost as a share",
    )
    args = parser.parse_args(argv)
    if args.calls <= 0 or args.repeats <= 0:
        parser.error("--calls and --repeats must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with running_issuer() as issuer, tempfile.TemporaryDirectory(prefix="omni-mcp-auth-") as workdir:
        timings = asyncio.run(measure(args, issuer, Path(workdir)))
    report(timings, args.request_us)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
