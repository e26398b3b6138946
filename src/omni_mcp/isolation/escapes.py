"""Exceptions that would end the process or the request rather than the plugin's call, made ordinary.

`SystemExit` and `KeyboardInterrupt` raised by a plugin would stop the server; a `CancelledError` it raises
by itself (nothing cancelled it) would look like the request being cancelled. Each becomes a
`PluginEscape`, an ordinary exception the caller reports as the plugin's failure. A real cancellation (a
timeout, a client going away, shutdown) is left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class PluginEscape(RuntimeError):
    """Plugin code raised an exception meant to stop the process or cancel the request."""

    def __init__(self, original: BaseException) -> None:
        self.original = original
        detail = str(original)
        super().__init__(f"{type(original).__name__}: {detail}" if detail else type(original).__name__)


@contextlib.contextmanager
def contained() -> Iterator[None]:
    """Turn a plugin's SystemExit, KeyboardInterrupt or stray cancellation into a PluginEscape."""
    try:
        yield
    except (SystemExit, KeyboardInterrupt) as error:
        raise PluginEscape(error) from error  # the plugin's traceback stays in the log
    except asyncio.CancelledError as error:
        if being_cancelled():
            raise
        raise PluginEscape(error) from error  # the plugin's traceback stays in the log


def being_cancelled() -> bool:
    """Whether the current task has a cancellation pending (a real one, from a timeout or shutdown)."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop
        return False
    return task is None or task.cancelling() > 0
