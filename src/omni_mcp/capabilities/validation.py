"""What a prompt name, a resource URI and a template may be, checked wherever one is created.

Plugins' defaults are checked when the gateway collects them; an organization's own prompts and resources
when they are written. A name ends up in logs, file names (exports) and client menus: a plain charset,
no path segments, no control characters. A resource URI must be an absolute URI (RFC 3986).
"""

from __future__ import annotations

import re

MAX_PROMPT_NAME_LENGTH = 128
MAX_URI_LENGTH = 2048
PROMPT_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_SCHEME = r"[A-Za-z][A-Za-z0-9+.-]*"
# RFC 3986: after "scheme:", only unreserved, reserved and percent-escaped characters.
_URI_CHARACTER = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2}"
_URI = re.compile(rf"{_SCHEME}:(?:{_URI_CHARACTER})+")
# A URI template also has {expressions} (RFC 6570); what is outside them must still read as a URI.
_URI_TEMPLATE = re.compile(rf"{_SCHEME}:(?:{_URI_CHARACTER}|\{{[^{{}}\s]+\}})+")


class InvalidName(ValueError):
    """A prompt name, resource URI or template that may not be created; the message says why."""


def check_prompt_name(name: str) -> str:
    if not PROMPT_NAME_PATTERN.fullmatch(name) or ".." in name or len(name) > MAX_PROMPT_NAME_LENGTH:
        raise InvalidName(
            f"invalid prompt name {name!r}: use letters, digits, '_', '-' and '.' (no '..'), "
            f"starting with a letter or digit, at most {MAX_PROMPT_NAME_LENGTH} characters"
        )
    return name


def check_resource_uri(uri: str) -> str:
    if len(uri) > MAX_URI_LENGTH or not _URI.fullmatch(uri):
        raise InvalidName(
            f"invalid resource URI {uri!r}: it must be an absolute URI (scheme:rest, e.g. "
            f"notes://team/handbook; no spaces, other characters percent-encoded), "
            f"at most {MAX_URI_LENGTH} characters"
        )
    return uri


def check_uri_template(template: str) -> str:
    if len(template) > MAX_URI_LENGTH or not _URI_TEMPLATE.fullmatch(template):
        raise InvalidName(
            f"invalid resource URI template {template!r}: it must be an absolute URI with {{variables}} "
            f"(e.g. notes://team/{{page}}), at most {MAX_URI_LENGTH} characters"
        )
    return template


def check_template_size(name: str, template: str, limit: int) -> str:
    if len(template) > limit:
        raise InvalidName(
            f"prompt {name!r}: its template is {len(template)} characters, more than the limit of {limit} "
            "(templates.max_template_chars)"
        )
    return template
