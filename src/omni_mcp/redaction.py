"""Take credentials out of text before it is shown or logged (public: re-exported by `omni_mcp`).

Exception messages and upstream error bodies are written by code we do not control: a driver puts the
connection URL with its password in its message, an echoing upstream returns the API key it was sent.
`redact_secrets` is the one place that cleans such text; the gateway runs it on every log line, on the
error texts callers get, and on /health details, and plugins run it on upstream errors with the
credentials they sent (which it removes whatever their shape).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 4
"""Shorter values are not replaced on their own: they would blank out ordinary words."""

# A name that ends in one of these words (so `total_tokens` or `author` are not taken for secrets).
_SENSITIVE_NAME = re.compile(
    r"(?:passw(?:or)?d|pwd|secret|secret[_-]?key|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credentials?|authorization)$",
    re.IGNORECASE,
)
_VALUE = r"(?![<.\[{$*]|[^\s\"',;&}\]]*\.\.\.)[^\s\"',;&}\]]+"
"""A secret's value: up to a quote, space or separator; not a placeholder (`<...>`, `...`, `pplx-...`)."""

# Well-known key formats (ours keeps its public id, the prefix, which logs and lists show anyway):
# omni-mcp, Linear, Perplexity, OpenAI-style, GitHub, Slack, AWS access key ids, JWTs. One pass over the text.
_KEY_FORMATS = re.compile(
    r"\b(?:(omk_[a-z0-9]{8})_[A-Za-z0-9]{20,}|lin_(?:api|oauth)_[A-Za-z0-9]{16,}|pplx-[A-Za-z0-9]{16,}"
    r"|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}\b"
    r"|eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)"
)
# The password in a URL's user information: scheme://user:password@host.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@")
# Authorization schemes followed by their credential (one with a digit, or long: not "Basic settings").
_SCHEME_CREDENTIAL = re.compile(
    r"(?i)\b(bearer|basic|digest)(\s+)(?:(?=[\w.~+/=-]*\d)[\w.~+/=-]{6,}|[\w.~+/=-]{16,})"
)
# name=value (connection strings, query strings, keyword arguments) and "name": "value" (JSON, dicts).
# Names start where a word starts, so matching stays linear in the text's length.
_ASSIGNMENT = re.compile(rf"(?<![\w.-])([\w.-]+)(\s*=\s*[\"']?){_VALUE}")
_QUOTED_PAIR = re.compile(rf"([\"'])([\w.-]+)(\1\s*:\s*[\"']){_VALUE}")


def _key_format(match: re.Match[str]) -> str:
    prefix = match.group(1)
    return f"{prefix}_{REDACTED}" if prefix else REDACTED


def _assignment(match: re.Match[str]) -> str:
    name, between = match.group(1), match.group(2)
    return f"{name}{between}{REDACTED}" if _SENSITIVE_NAME.search(name) else match.group()


def _quoted_pair(match: re.Match[str]) -> str:
    quote, name, between = match.group(1), match.group(2), match.group(3)
    return f"{quote}{name}{between}{REDACTED}" if _SENSITIVE_NAME.search(name) else match.group()


def redact_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with credentials replaced by `[redacted]`: each of `secrets` (values the caller knows were
    sent or configured, e.g. its API key) wherever it appears, and whatever looks like a credential
    (passwords in URLs, `password=` and `"api_key": "..."` pairs, bearer tokens, known key formats)."""
    known = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
    for secret in known:  # longest first: one secret may contain another
        text = text.replace(secret, REDACTED)
    text = _KEY_FORMATS.sub(_key_format, text)
    # Cheap tests first: most log lines hold none of these, and each pass costs a scan.
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
    lowered = text.lower()
    if "bearer" in lowered or "basic" in lowered or "digest" in lowered:
        text = _SCHEME_CREDENTIAL.sub(rf"\1\2{REDACTED}", text)
    if "=" in text:
        text = _ASSIGNMENT.sub(_assignment, text)
    if ":" in text and ('"' in text or "'" in text):
        text = _QUOTED_PAIR.sub(_quoted_pair, text)
    return text
