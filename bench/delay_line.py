"""A TCP delay line: every byte sent to the target arrives `delay` later, as over a long link.

Put between the app and Azurite it gives each storage request the round trip of a store in
another building instead of loopback's ~0.1 ms, without slowing the store itself: bytes are
forwarded in order, each chunk held until `delay` after it arrived (not after the previous one),
so concurrent requests overlap their waits as they would on a real network.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

from tools.stack import HOST


class DelayLine:
    def __init__(self, target_port: int, delay_seconds: float) -> None:
        self._target_port = target_port
        self._delay = delay_seconds
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        started = threading.Event()
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        started.wait(timeout=10)
        if self._server is None:
            raise RuntimeError("the delay line did not start")
        self.port: int = self._server.sockets[0].getsockname()[1]

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, HOST, 0))
        started.set()
        self._loop.run_forever()

    async def _connection(self, client_in: asyncio.StreamReader,
                          client_out: asyncio.StreamWriter) -> None:
        try:
            target_in, target_out = await asyncio.open_connection(HOST, self._target_port)
        except OSError:
            client_out.close()
            return
        # The delay is paid on the way in only: one delay per request's round trip.
        await asyncio.gather(self._pipe(client_in, target_out, self._delay),
                             self._pipe(target_in, client_out, 0.0))

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter,
                    delay: float) -> None:
        held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def release() -> None:
            while True:
                due, chunk = await held.get()
                if not chunk:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                sink.write(chunk)
                await sink.drain()

        releaser = asyncio.ensure_future(release())
        try:
            while chunk := await source.read(65536):
                held.put_nowait((time.monotonic() + delay, chunk))
        except (ConnectionError, OSError):
            pass
        finally:
            held.put_nowait((0.0, b""))
            with contextlib.suppress(ConnectionError, OSError):
                await releaser
            sink.close()

    def stop(self) -> None:
        """Close the listener and every connection still open, then the loop."""
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
