"""An incremental Server-Sent Events parser: network chunks in, complete events out.

Chunks split lines, `\\r\\n` pairs and multi-byte characters anywhere, so the parser keeps the unfinished
tail between calls. Follows the WHATWG event-stream rules that matter for Perplexity's frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class SseEvent:
    data: str
    event: str = "message"
    id: str | None = None


class SseParser:
    def __init__(self) -> None:
        self._buffer = ""
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None

    def feed(self, chunk: str) -> Iterator[SseEvent]:
        """Parse `chunk`; yield each event whose terminating blank line it completes."""
        self._buffer += chunk
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                return
            line, self._buffer = self._buffer[: cut[0]], self._buffer[cut[1] :]
            event = self._line(line)
            if event is not None:
                yield event

    def close(self) -> Iterator[SseEvent]:
        """End of stream: be lenient and deliver a last event that lacks its blank line."""
        tail, self._buffer = self._buffer, ""
        if tail.endswith("\r"):
            tail = tail[:-1] + "\n"
        yield from self.feed(tail)
        if self._buffer:
            line, self._buffer = self._buffer, ""
            event = self._line(line)
            if event is not None:
                yield event
        event = self._dispatch()
        if event is not None:
            yield event

    def _line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment, e.g. a keep-alive
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._last_id = value
        return None

    def _dispatch(self) -> SseEvent | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return SseEvent(data="\n".join(data), event=event or "message", id=self._last_id)


def _line_end(buffer: str) -> tuple[int, int] | None:
    """(end of the first line, start of the next) or None while the line may still continue.

    A trailing lone `\\r` waits for the next chunk, which may begin with the `\\n` of the same `\\r\\n`.
    """
    newline, carriage = buffer.find("\n"), buffer.find("\r")
    if carriage == -1 or (newline != -1 and newline < carriage):
        return None if newline == -1 else (newline, newline + 1)
    if carriage + 1 == len(buffer):
        return None
    return carriage, carriage + 2 if buffer[carriage + 1] == "\n" else carriage + 1
