"""Structured logs through loguru; the standard library's loggers (uvicorn, mcp, alembic) are routed in."""

from __future__ import annotations

import logging
import sys

from loguru import logger

from omni_mcp.settings import LoggingSettings

TEXT_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<cyan>{name}</cyan> {extra[request_id]} - <level>{message}</level>"
)


class _InterceptHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def configure_logging(settings: LoggingSettings) -> None:
    logger.remove()
    logger.configure(extra={"request_id": "-"})
    if settings.json_logs:
        logger.add(sys.stderr, level=settings.level, serialize=True, backtrace=False, diagnose=False)
    else:
        logger.add(sys.stderr, level=settings.level, format=TEXT_FORMAT, backtrace=False, diagnose=False)
    # The standard library filters at our level, so libraries' debug lines are not built just to be dropped.
    logging.basicConfig(handlers=[_InterceptHandler()], level=logger.level(settings.level).no, force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "mcp", "alembic", "httpx"):
        std = logging.getLogger(name)
        std.handlers = []
        std.propagate = True
    # Chatty at INFO; their warnings and errors still come through.
    logging.getLogger("mcp").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # we log the revision ourselves
