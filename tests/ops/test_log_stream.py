"""The serve log handler: the lines of one event-loop iteration in one write, in order; at once
off the loop; nothing lost at shutdown; a failing stream reported, never raised."""

from __future__ import annotations

import asyncio
import logging
import logging.config
import threading
from typing import Any

import pytest

from tests.ops.streams import Stream
from verifier.ops.log_stream import LoopBatchedStreamHandler
from verifier.ops.logs import logging_config


def logger_to(stream: Stream, name: str) -> tuple[logging.Logger, LoopBatchedStreamHandler]:
    handler = LoopBatchedStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger(f"test.log_stream.{name}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, handler


def test_lines_of_one_iteration_leave_in_one_write_in_order() -> None:
    stream = Stream()
    logger, _ = logger_to(stream, "iteration")

    async def main() -> list[str]:
        for i in range(5):
            logger.info("line %d", i)
        before = list(stream.writes)
        await asyncio.sleep(0)  # the loop runs the write it was asked for
        await asyncio.sleep(0)
        return before

    assert asyncio.run(main()) == []  # nothing written while the iteration ran
    assert stream.writes == ["".join(f"line {i}\n" for i in range(5))]
    assert stream.flushes == 1


def test_each_iteration_writes_its_own_lines() -> None:
    stream = Stream()
    logger, _ = logger_to(stream, "iterations")

    async def main() -> None:
        logger.info("a")
        logger.info("b")
        await asyncio.sleep(0.01)
        logger.info("c")
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert stream.writes == ["a\nb\n", "c\n"]


def test_off_the_loop_a_line_is_written_at_once() -> None:
    stream = Stream()
    logger, _ = logger_to(stream, "sync")
    logger.info("one")
    assert stream.writes == ["one\n"]
    logger.info("two")
    assert stream.writes == ["one\n", "two\n"]


def test_another_thread_writes_after_the_waiting_lines() -> None:
    stream = Stream()
    logger, _ = logger_to(stream, "thread")

    async def main() -> None:
        logger.info("loop 1")
        worker = threading.Thread(target=logger.info, args=("thread",))
        worker.start()
        worker.join()
        logger.info("loop 2")
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert stream.text == "loop 1\nthread\nloop 2\n"
    assert stream.writes == ["loop 1\nthread\n", "loop 2\n"]


def test_flush_writes_what_waits() -> None:
    stream = Stream()
    logger, handler = logger_to(stream, "flush")
    loop = asyncio.new_event_loop()
    try:

        def last_iteration() -> None:
            loop.stop()  # the loop ends after this iteration, before the write it is asked for
            logger.info("last words")

        loop.call_soon(last_iteration)
        loop.run_forever()
        assert stream.writes == []
        handler.flush()  # what logging.shutdown() calls at exit
        assert stream.writes == ["last words\n"]
    finally:
        loop.close()


def test_a_failing_stream_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(Stream):
        def write(self, text: str) -> int:
            raise OSError("disk full")

    reported: list[Any] = []
    logger, handler = logger_to(Broken(), "broken")
    monkeypatch.setattr(handler, "handleError", reported.append)

    async def main() -> None:
        logger.info("lost")
        await asyncio.sleep(0.01)

    asyncio.run(main())
    logger.info("lost too")
    assert [r.getMessage() for r in reported] == ["lost", "lost too"]


def test_serve_logging_config_uses_it_for_every_logger() -> None:
    for fmt in ("text", "json"):
        handler = logging_config(fmt)["handlers"]["default"]
        assert handler["()"] is LoopBatchedStreamHandler
    config = logging_config("text")
    config["loggers"] = {"test.log_stream.config": {"handlers": ["default"], "level": "INFO"}}
    logging.config.dictConfig(config)
    built = logging.getLogger("test.log_stream.config").handlers[0]
    assert isinstance(built, LoopBatchedStreamHandler)
    assert built.formatter is not None


def test_a_new_loop_on_the_same_thread_is_found() -> None:
    """The handler remembers the loop it found; once that loop has stopped, it looks again."""
    stream = Stream()
    logger, _ = logger_to(stream, "new_loop")

    async def two_lines(tag: str) -> list[str]:
        logger.info("%s 1", tag)
        logger.info("%s 2", tag)
        waiting = list(stream.writes)
        await asyncio.sleep(0.01)
        return waiting

    before_first = asyncio.run(two_lines("first"))
    logger.info("between loops")  # no loop runs: written at once
    before_second = asyncio.run(two_lines("second"))
    assert before_first == []
    assert before_second == ["first 1\nfirst 2\n", "between loops\n"]
    assert stream.writes == ["first 1\nfirst 2\n", "between loops\n", "second 1\nsecond 2\n"]
