"""The log stream of ``agentvp serve``: the lines of one event-loop iteration in one write.

:class:`logging.StreamHandler` writes and flushes every record by itself: one ``write`` system
call per log line, ~4 per cross-device flow (the access log's lines), 3-4 % of a saturated
worker's CPU. :class:`LoopBatchedStreamHandler` formats each record at once, as the standard
handler does, but on the thread that runs the event loop it only appends the line and asks the
loop to write everything appended so far when the current iteration's callbacks have run
(``call_soon``): the lines of the requests served in that iteration leave in one write, in the
order they were logged, microseconds later, never held across an idle loop.

Everywhere else - another thread (a thread pool, a signal handler's thread), no running loop
(start-up, shutdown, the command line) - a record is written at once, after any lines still
waiting, so the order holds. :meth:`flush` (called by :func:`logging.shutdown` at exit) writes
what waits. A process that is killed loses at most the lines of the iteration it was in.
"""

from __future__ import annotations

import asyncio
import logging
from threading import get_ident
from typing import Any

__all__ = ["LoopBatchedStreamHandler"]


class LoopBatchedStreamHandler(logging.StreamHandler[Any]):
    """A :class:`logging.StreamHandler` whose lines logged on the event loop leave together."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        # The last record, or line (emit_line), queued: for handleError if the write fails.
        self._last: logging.LogRecord | str | None = None
        self._scheduled: asyncio.AbstractEventLoop | None = None
        # The loop last found running, and its thread: asyncio.get_running_loop() checks the
        # process id (a getpid() system call) every time, so it is asked only when this thread
        # is not that loop's or that loop has stopped (one thread runs one loop at a time).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0

    def emit(self, record: logging.LogRecord) -> None:
        # Called by Handler.handle with self.lock held.
        try:
            line = self.format(record) + self.terminator
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)
            return
        self._queue(line, record)

    def emit_line(self, line: str) -> None:
        """What :meth:`logging.Handler.handle` does for a record whose formatted text is
        ``line``: under the lock, queue it as :meth:`emit` queues a record's line."""
        self.acquire()
        try:
            self._queue(line + self.terminator, line)
        finally:
            self.release()

    def _queue(self, line: str, source: logging.LogRecord | str) -> None:
        """Append ``line`` and see that it is written (the caller holds the lock)."""
        self._pending.append(line)
        self._last = source
        loop = self._loop
        thread = get_ident()
        if loop is None or thread != self._loop_thread or not loop.is_running():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            else:
                self._loop, self._loop_thread = loop, thread
        if loop is None:
            self._write_pending()
        elif self._scheduled is not loop:
            self._scheduled = loop
            loop.call_soon(self._write_scheduled)

    def _write_scheduled(self) -> None:
        self.acquire()
        try:
            self._scheduled = None
            self._write_pending()
        finally:
            self.release()

    def _write_pending(self) -> None:
        """Write and flush every waiting line; the caller holds the lock."""
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        try:
            self.stream.write(text)
            self.stream.flush()
        except RecursionError:
            raise
        except Exception:
            last = self._last
            if not isinstance(last, logging.LogRecord):  # a line from emit_line
                last = logging.makeLogRecord({"msg": last})
            self.handleError(last)

    def flush(self) -> None:
        self.acquire()
        try:
            self._write_pending()
        finally:
            self.release()
        super().flush()
