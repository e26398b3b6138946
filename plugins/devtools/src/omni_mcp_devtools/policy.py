"""Which URLs a context's browser may reach: navigation and every subresource pass through `check`.

Default: only http(s), ws(s), data: and blob: URLs whose host resolves to public addresses. Loopback,
private, link-local, multicast and reserved addresses are refused (so are `file:`, `chrome:` and
`view-source:`), unless the operator allows a pattern. The operator's blocked patterns always win; an
organization can only narrow the result (its own blocked patterns, or an allow-list of its own).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio

NETWORK_SCHEMES = frozenset({"http", "https", "ws", "wss"})
INERT_SCHEMES = frozenset({"data", "blob", "about"})
"""Schemes that carry their content inline or refer to the page's own memory: nothing is fetched."""


class PolicyRefusal(Exception):
    """A URL the policy refuses; the message says which rule and is shown to the client."""


def _matches(url: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(url, pattern) for pattern in patterns)


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class UrlPolicy:
    operator_allowed: tuple[str, ...] = ()
    operator_blocked: tuple[str, ...] = ()
    organization_allowed: tuple[str, ...] = ()
    organization_blocked: tuple[str, ...] = ()

    def check_static(self, url: str) -> str | None:
        """The checks that need no DNS. Returns the host to resolve, or None when nothing is fetched."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if _matches(url, self.operator_blocked):
            raise PolicyRefusal(f"{url} is blocked by the operator's policy")
        if _matches(url, self.organization_blocked):
            raise PolicyRefusal(f"{url} is blocked by this organization's policy")
        if scheme in INERT_SCHEMES:
            return None
        if scheme not in NETWORK_SCHEMES:
            raise PolicyRefusal(
                f"{url}: the {scheme or 'empty'}: scheme is not allowed (only http(s) and ws(s))"
            )
        if self.organization_allowed and not _matches(url, self.organization_allowed):
            raise PolicyRefusal(f"{url} is not in this organization's allowed URLs")
        host = parts.hostname
        if not host:
            raise PolicyRefusal(f"{url} has no host")
        return None if _matches(url, self.operator_allowed) else host

    def check_origin(self, url: str) -> None:
        """What can be checked of a tunnel (HTTPS, WebSocket), which names only its origin: patterns that
        block or allow whole origins. The full URLs were checked by the context's route already."""
        origin = url.rstrip("/")
        if any(_whole_origin(p) and fnmatch.fnmatchcase(origin, _origin(p)) for p in self.operator_blocked):
            raise PolicyRefusal(f"{origin} is blocked by the operator's policy")
        if any(
            _whole_origin(p) and fnmatch.fnmatchcase(origin, _origin(p)) for p in self.organization_blocked
        ):
            raise PolicyRefusal(f"{origin} is blocked by this organization's policy")
        if self.organization_allowed and not any(
            fnmatch.fnmatchcase(origin, _origin(p)) for p in self.organization_allowed
        ):
            raise PolicyRefusal(f"{origin} is not in this organization's allowed URLs")

    def origin_trusted(self, url: str) -> bool:
        """Whether the operator allows some URL of this origin despite its address."""
        origin = url.rstrip("/")
        return any(fnmatch.fnmatchcase(origin, _origin(p)) for p in self.operator_allowed)

    async def check(self, url: str) -> None:
        """Refuse `url` with PolicyRefusal unless this policy lets the browser reach it."""
        host = self.check_static(url)
        if host is None:
            return
        try:
            literal: str | None = str(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            literal = None
        addresses = [literal] if literal else await resolve(host)
        if not addresses:
            raise PolicyRefusal(f"{url}: the host {host} does not resolve")
        for address in addresses:
            if not is_public(address):
                raise PolicyRefusal(
                    f"{url} resolves to {address}, a loopback, private or link-local address; the "
                    "operator can allow it with operator_allowed_urls"
                )


def _origin(pattern: str) -> str:
    """The scheme://host[:port] part of a URL pattern."""
    scheme, sep, rest = pattern.partition("://")
    return scheme + sep + rest.split("/", 1)[0] if sep else pattern


def _whole_origin(pattern: str) -> bool:
    """Whether a pattern covers every path of its origin (only those can refuse a tunnel)."""
    _scheme, sep, rest = pattern.partition("://")
    path = rest.partition("/")[2] if sep else ""
    return path in ("", "*")


async def resolve(host: str) -> list[str]:
    try:
        infos = await anyio.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos})
