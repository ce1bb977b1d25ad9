"""The serve protocol's batched writes: one write per event-loop pass, bytes and order kept,
nothing lost on close; and ``agentvp serve`` picks it."""

from __future__ import annotations

import asyncio

import pytest

from verifier.cli import _http_protocol
from verifier.ops.http_protocol import FLUSH_AT, BatchedWrites

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_writes_of_one_pass_leave_together_in_order_and_close_sends_the_rest() -> None:
    loop = asyncio.get_running_loop()
    seen: list[int] = []

    class Server(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.batched = BatchedWrites(transport, loop)
            self.task = loop.create_task(self.respond())

        async def respond(self) -> None:
            out = self.batched
            out.write(b"HTTP/1.1 200 OK\r\n\r\n")
            out.write(b"")  # nothing to send: no-op
            out.write(memoryview(b"body"))
            seen.append(out.get_write_buffer_size())  # both still collected
            await asyncio.sleep(0.01)  # the pass ended: sent as one write
            seen.append(len(out._pending))
            out.write(b"x" * FLUSH_AT)  # past the threshold: sent at once
            seen.append(len(out._pending))
            out.write(b"tail")
            out.close()  # sends what is collected first

    server = await loop.create_server(Server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    server.close()
    assert data == b"HTTP/1.1 200 OK\r\n\r\nbody" + b"x" * FLUSH_AT + b"tail"
    assert seen == [23, 0, 0]


async def test_writes_after_the_connection_closed_are_dropped() -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bool] = loop.create_future()

    class Server(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            batched = BatchedWrites(transport, loop)
            batched.write(b"late")
            transport.close()  # closed underneath before the pass ends
            batched.flush()
            done.set_result(batched.get_write_buffer_size() == 0)

    server = await loop.create_server(Server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert await asyncio.wait_for(reader.read(), 10) == b""
    assert await done
    writer.close()
    server.close()


def test_serve_uses_the_batched_protocol_where_httptools_is_installed() -> None:
    assert _http_protocol() == "verifier.ops.http_protocol:BatchedHttpTools"
