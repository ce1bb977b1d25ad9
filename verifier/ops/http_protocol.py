"""uvicorn's httptools protocol, with a response's writes sent as one.

uvicorn writes a response's status line and headers, then its body, with one
``transport.write`` each, and uvloop sends each at once: two ``send`` system calls (and, on
the peer's side, two wake-ups) per response where one would do - on a saturated server the
largest single item of its profile is these writes. :class:`BatchedHttpTools` hands uvicorn a
transport that collects what is written during one pass of the event loop and sends it with
one ``write`` at the end of the pass (when the coroutine that wrote yields), or at once when
it grows past :data:`FLUSH_AT`, and before a close, ``write_eof`` or protocol switch. The bytes
on the wire and their order are unchanged; a streamed response's chunks still leave as the
handler yields them, a pass later at most.

``agentvp serve`` uses it whenever uvicorn would pick httptools itself (``http="auto"`` with
httptools installed: it comes with ``uvicorn[standard]``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["FLUSH_AT", "BatchedHttpTools", "BatchedWrites"]

FLUSH_AT = 64 * 1024  # bytes collected before they are sent without waiting for the pass's end


class BatchedWrites:
    """A transport whose writes of one event-loop pass leave as one write of ``transport``;
    everything else is ``transport``'s own."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))
        self._size += len(data)
        if self._size >= FLUSH_AT:
            self.flush()

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send what was collected (nothing once the connection is closing: as a write then)."""
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._size + self._transport.get_write_buffer_size()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._size = 0
        self._transport.abort()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()
        self._transport.set_protocol(protocol)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class BatchedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol over :class:`BatchedWrites`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        batched: Any = BatchedWrites(transport, self.loop)
        super().connection_made(batched)
