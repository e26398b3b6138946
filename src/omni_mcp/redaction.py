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
_SENSITIVE_NAME = (
    r"[\w.-]*(?:passw(?:or)?d|pwd|secret|secret[_-]?key|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credentials?|authorization)"
)

_VALUE = r"(?![<.\[{$*]|[^\s\"',;&}\]]*\.\.\.)[^\s\"',;&}\]]+"
"""A secret's value: up to a quote, space or separator; not a placeholder (`<...>`, `...`, `pplx-...`)."""

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Our own API keys keep their public id (the prefix), which is what logs and lists show anyway.
    (re.compile(r"\b(omk_[a-z0-9]{8})_[A-Za-z0-9]{20,}"), rf"\1_{REDACTED}"),
    # Well-known key formats: Linear, Perplexity, OpenAI-style, GitHub, Slack, AWS access key ids, JWTs.
    (re.compile(r"\blin_(?:api|oauth)_[A-Za-z0-9]{16,}"), REDACTED),
    (re.compile(r"\bpplx-[A-Za-z0-9]{16,}"), REDACTED),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), REDACTED),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), REDACTED),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), REDACTED),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    # The password in a URL's user information: scheme://user:password@host.
    (re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@"), rf"\1{REDACTED}@"),
    # Authorization schemes followed by their credential (one with a digit, or long: not "Basic settings").
    (
        re.compile(r"(?i)\b(bearer|basic|digest)(\s+)(?:(?=[\w.~+/=-]*\d)[\w.~+/=-]{6,}|[\w.~+/=-]{16,})"),
        rf"\1\2{REDACTED}",
    ),
    # name=value (connection strings, query strings, keyword arguments) and "name": "value" (JSON, dicts)
    # where the name says it is a secret; placeholders such as <key>, ... or pplx-... are left alone.
    (re.compile(rf"(?i)(\b{_SENSITIVE_NAME}\s*=\s*[\"']?){_VALUE}"), rf"\1{REDACTED}"),
    (re.compile(rf"(?i)([\"']{_SENSITIVE_NAME}[\"']\s*:\s*[\"']){_VALUE}"), rf"\1{REDACTED}"),
)


def redact_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with credentials replaced by `[redacted]`: each of `secrets` (values the caller knows were
    sent or configured, e.g. its API key) wherever it appears, and whatever looks like a credential
    (passwords in URLs, `password=` and `"api_key": "..."` pairs, bearer tokens, known key formats)."""
    known = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
    for secret in known:  # longest first: one secret may contain another
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
