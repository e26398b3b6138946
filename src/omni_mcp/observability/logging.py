"""Structured logs through loguru; the standard library's loggers (uvicorn, mcp, alembic) are routed in.

Every line is made safe on its way out: control characters in the message (a request path with `%0A`, an
ANSI escape in a header) are escaped, so a caller cannot forge or hide log lines, and credentials are
redacted (omni_mcp.redaction) from the whole line, exception text included. Request and response bodies
(the SSE frames the transport logs at DEBUG, tool results included) stay out unless `logging.log_payloads`.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TYPE_CHECKING, TextIO

from loguru import logger

from omni_mcp.redaction import redact_secrets
from omni_mcp.settings import LoggingSettings

if TYPE_CHECKING:
    from loguru import Message, Record

TEXT_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<cyan>{name}</cyan> {extra[request_id]} - <level>{message}</level>"
)
PAYLOAD_LOGGERS = ("sse_starlette", "mcp")
"""Libraries whose DEBUG lines carry whole messages: quiet unless an operator opts in."""

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


def escape_control(text: str) -> str:
    """`text` on one line: newlines and other control characters written as escapes (`\\n`, `\\x1b`)."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def _safe_record(record: Record) -> None:
    record["message"] = escape_control(record["message"])
    for key, value in record["extra"].items():
        if isinstance(value, str):
            record["extra"][key] = escape_control(value)


class _RedactingSink:
    """Writes formatted lines (tracebacks included) to `stream` with credentials redacted."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, message: Message) -> None:
        self.stream.write(redact_secrets(str(message)))

    def flush(self) -> None:
        self.stream.flush()


class _InterceptHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def configure_logging(settings: LoggingSettings, stream: TextIO | None = None) -> None:
    """Log to `stream` (standard error by default) at `settings.level`."""
    stream = stream or sys.stderr
    logger.remove()
    logger.configure(extra={"request_id": "-"}, patcher=_safe_record)
    sink = _RedactingSink(stream)
    if settings.json_logs:
        logger.add(sink, level=settings.level, serialize=True, backtrace=False, diagnose=False)
    else:
        logger.add(
            sink,
            level=settings.level,
            format=TEXT_FORMAT,
            colorize=stream.isatty(),
            backtrace=False,
            diagnose=False,
        )
    # The standard library filters at our level, so libraries' debug lines are not built just to be dropped.
    logging.basicConfig(handlers=[_InterceptHandler()], level=logger.level(settings.level).no, force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic", "httpx", *PAYLOAD_LOGGERS):
        std = logging.getLogger(name)
        std.handlers = []
        std.propagate = True
    # Chatty at INFO; their warnings and errors still come through.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # we log the revision ourselves
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if settings.log_payloads else logging.WARNING)
