"""The operator's policy for upstreams: which kinds, which stdio commands, which hosts an http one may reach.

An http upstream is fetched on an organization's behalf, so by default it may not reach loopback, private,
link-local or otherwise reserved addresses (the host is resolved and every address checked), unless the
operator lists the host or its network in `federation.allow_private_hosts`.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from omni_mcp.auth.mode import local_mode_enabled
from omni_mcp.settings import FederationSettings, Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class PolicyError(ValueError):
    """An upstream the operator's policy does not allow; the message says which setting decides."""


@dataclass(frozen=True)
class UpstreamPolicy:
    kinds: frozenset[str]
    stdio_commands: frozenset[str]
    any_command: bool
    private_hosts: frozenset[str]
    private_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> UpstreamPolicy:
        federation: FederationSettings = settings.federation
        try:
            local = local_mode_enabled(settings)
        except Exception:  # local mode misconfigured: start-up reports it; be strict meanwhile
            local = False
        kinds = federation.allowed_kinds
        default_kinds = {"http", "stdio"} if local else {"http"}
        allowed = frozenset(kinds if kinds is not None else default_kinds)
        hosts, networks = set(), []
        for entry in federation.allow_private_hosts:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower())
        return cls(
            kinds=allowed,
            stdio_commands=frozenset(federation.stdio_commands),
            any_command=local and not federation.stdio_commands,
            private_hosts=frozenset(hosts),
            private_networks=tuple(networks),
        )

    def check_kind(self, kind: str) -> None:
        if kind not in self.kinds:
            raise PolicyError(
                f"{kind} upstreams are not allowed here (federation.allowed_kinds = {sorted(self.kinds)})"
            )

    def check_command(self, command: str) -> None:
        self.check_kind("stdio")
        if self.any_command:
            return
        if command not in self.stdio_commands and os.path.basename(command) not in self.stdio_commands:
            raise PolicyError(f"command {command!r} is not in federation.stdio_commands")

    def check_url(self, url: str) -> None:
        """Syntax and the literal host: cheap, for the moment an upstream is added."""
        self.check_kind("http")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PolicyError(f"upstream URL {url!r} must be an http(s) URL with a host")
        if parts.username or parts.password:
            raise PolicyError("put credentials in headers, not in the upstream URL")
        try:
            literal = ipaddress.ip_address(parts.hostname)
        except ValueError:
            if parts.hostname.lower() == "localhost":
                self._check_address(parts.hostname, ipaddress.ip_address("127.0.0.1"))
            return
        self._check_address(parts.hostname, literal)

    def check_resolved(self, url: str) -> None:
        """Every address the host resolves to now (blocking: call it from a worker thread)."""
        self.check_url(url)
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except OSError as error:
            raise PolicyError(f"upstream host {host!r} cannot be resolved: {error}") from None
        for info in infos:
            self._check_address(host, ipaddress.ip_address(info[4][0]))

    def _check_address(self, host: str, address: Address) -> None:
        if address.is_global and not address.is_multicast:
            return
        if host.lower() in self.private_hosts or any(address in net for net in self.private_networks):
            return
        raise PolicyError(
            f"upstream host {host!r} is a loopback/private address ({address}); "
            "the operator may allow it in federation.allow_private_hosts"
        )
