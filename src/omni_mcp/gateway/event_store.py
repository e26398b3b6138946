"""Keep recent SSE events of handshake-era streams so a client that reconnects (Last-Event-ID) loses nothing.

Bounded in memory: the newest events of the most recently used streams. A process restart or a stream
evicted for space means the client re-requests, as the protocol allows.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from itertools import count

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp.types import JSONRPCMessage


class MemoryEventStore(EventStore):
    def __init__(self, max_streams: int = 10_000, max_events_per_stream: int = 500) -> None:
        self._streams: OrderedDict[StreamId, deque[tuple[int, JSONRPCMessage | None]]] = OrderedDict()
        self._max_streams = max_streams
        self._max_events = max_events_per_stream
        self._sequence = count(1)

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        events = self._streams.get(stream_id)
        if events is None:
            events = self._streams[stream_id] = deque(maxlen=self._max_events)
            while len(self._streams) > self._max_streams:
                self._streams.popitem(last=False)
        else:
            self._streams.move_to_end(stream_id)
        sequence = next(self._sequence)
        events.append((sequence, message))
        return f"{stream_id}/{sequence}"

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        stream_id, _, raw_sequence = last_event_id.rpartition("/")
        events = self._streams.get(stream_id)
        if events is None or not raw_sequence.isdigit():
            return None
        after = int(raw_sequence)
        for sequence, message in list(events):
            if sequence > after and message is not None:
                await send_callback(EventMessage(message, f"{stream_id}/{sequence}"))
        return stream_id
