"""Every connection a context's browser makes goes through its own small proxy, which applies the policy.

`context.route` sees a page's requests but not the hops of a redirect, nor what a DNS answer changes after
it was checked. The proxy closes both gaps: Chromium sends each context's traffic here (loopback
included), and the proxy checks every request line (plain HTTP: the full URL; HTTPS and WebSocket
tunnels: the origin), resolves the host once, checks the addresses and connects to exactly the address
it checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Callable
from urllib.parse import urlsplit

from omni_mcp_devtools.policy import PolicyRefusal, UrlPolicy, is_public, resolve

HEAD_LIMIT = 64 * 1024
CONNECT_TIMEOUT = 10.0
CHUNK = 64 * 1024


class EgressProxy:
    """An HTTP proxy on 127.0.0.1 for one browser context, enforcing that context's policy."""

    def __init__(self, policy: UrlPolicy, on_refusal: Callable[[str], None]) -> None:
        self.policy = policy
        """Replaced by the session when the organization's settings change."""
        self.on_refusal = on_refusal
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > HEAD_LIMIT:
            return
        request_line, _, rest = head.partition(b"\r\n")
        method, target, version = request_line.decode("latin-1").split(" ", 2)
        if method == "CONNECT":
            host, port = _split_host_port(target, 443)
            shown = f"[{host}]" if ":" in host else host
            url = f"https://{shown}/" if port == 443 else f"https://{shown}:{port}/"
            address = await self._allowed(url, host, port, origin_only=True)
            if address is None:
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            upstream_reader, upstream_writer = await _open(address, port)
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await _pipe_both(reader, writer, upstream_reader, upstream_writer)
            return
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        port = parts.port or 80
        address = await self._allowed(target, parts.hostname, port, origin_only=False)
        if address is None:
            body = b"blocked by the browser's network policy"
            writer.write(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            return
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers = [
            line
            for line in rest.split(b"\r\n")
            if line and not line.lower().startswith((b"proxy-connection:", b"connection:", b"keep-alive:"))
        ]
        upstream_reader, upstream_writer = await _open(address, port)
        # One request per connection: the next request on this socket could name another host.
        upstream_writer.write(
            f"{method} {path} {version}\r\n".encode("latin-1")
            + b"\r\n".join([*headers, b"Connection: close"])
            + b"\r\n\r\n"
        )
        await upstream_writer.drain()
        # The request body (if any) goes up while the response comes down.
        sending = asyncio.ensure_future(_pipe(reader, upstream_writer))
        try:
            response_head = await upstream_reader.readuntil(b"\r\n\r\n")
        except BaseException:
            sending.cancel()
            upstream_writer.close()
            raise
        status_line, _, response_rest = response_head.partition(b"\r\n")
        kept = [
            line
            for line in response_rest.split(b"\r\n")
            if line and not line.lower().startswith((b"connection:", b"keep-alive:", b"proxy-connection:"))
        ]
        writer.write(status_line + b"\r\n" + b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n")
        await _pipe_down(sending, upstream_reader, writer, upstream_writer)

    async def _allowed(self, url: str, host: str, port: int, *, origin_only: bool) -> str | None:
        """The address to connect to, or None (and the refusal reported) when the policy refuses."""
        policy = self.policy
        try:
            if origin_only:
                policy.check_origin(url)
                trusted = policy.origin_trusted(url)
            else:
                trusted = policy.check_static(url) is None
            try:
                literal: str | None = str(ipaddress.ip_address(host.strip("[]")))
            except ValueError:
                literal = None
            addresses = [literal] if literal else await resolve(host)
            if not addresses:
                raise PolicyRefusal(f"{url}: the host {host} does not resolve")
            if not trusted:
                for address in addresses:
                    if not is_public(address):
                        raise PolicyRefusal(
                            f"{url} resolves to {address}, a loopback, private or link-local address"
                        )
        except PolicyRefusal as refusal:
            self.on_refusal(str(refusal))
            return None
        return addresses[0]


def _split_host_port(target: str, default: int) -> tuple[str, int]:
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or host.endswith(":"):
        return target.strip("[]"), default
    return host.strip("[]"), int(port)


async def _open(address: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(address, port), CONNECT_TIMEOUT)


async def _pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ConnectionError):
        while chunk := await source.read(CHUNK):
            target.write(chunk)
            await target.drain()


async def _pipe_both(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
) -> None:
    sending = asyncio.ensure_future(_pipe(client_reader, upstream_writer))
    await _pipe_down(sending, upstream_reader, client_writer, upstream_writer)


async def _pipe_down(
    sending: asyncio.Future[None],
    upstream_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_writer: asyncio.StreamWriter,
) -> None:
    """Copy the server's side down until it ends: then the exchange is over, whatever the client does."""
    try:
        await _pipe(upstream_reader, client_writer)
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
        upstream_writer.close()
