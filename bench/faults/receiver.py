"""A real HTTP webhook receiver for the fault suite, on its own event loop in a thread.

It speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) to be a Slack-like incoming
webhook: every POST is one page a person would see, recorded with the platform time it arrived. It can
be taken down (the port refuses connections) and brought back on the same port, take `latency` seconds
to answer, or run `slow`: it reads the request and then answers one byte a second, forever, like a
hostile or broken endpoint.

A page counts as delivered when the receiver answers 200: a request whose sender vanished before the
answer (killed mid-request) is dropped, as a server aborts a handler on disconnect. Like a receiver that
honours `Idempotency-Key` (notification-service sends the notification's id on every attempt), a
request repeating a key already answered is answered 200 again and counted in `resent`, not shown as a
second page: that is the at-least-once re-send after a crash between a 200 and its record. A page
counted twice is one the platform sent again as a *different* notification.
"""

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'
BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"


@dataclass(frozen=True)
class Delivery:
    at: datetime  # platform time of arrival
    body: dict[str, Any]


@dataclass
class Receiver:
    port: int
    now: Callable[[], datetime]
    slow: bool = False
    latency: float = 0.0
    deliveries: list[Delivery] = field(default_factory=list)
    requests: int = 0  # every request read, including the ones a slow receiver never answers
    resent: int = 0  # requests repeating an Idempotency-Key already answered 200

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"receiver-{self.port}", daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task] = set()
        self._lock = threading.Lock()
        self._keys: set[str] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _call(self, coroutine) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def start(self) -> None:
        self._thread.start()
        self.up()

    def up(self) -> None:
        """Listen (again) on the receiver's port."""
        self._server = self._call(asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True))

    def down(self) -> None:
        """Stop listening and drop every open connection: senders now get connection refused."""
        self._call(self._close())

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    def stop(self) -> None:
        if self._thread.is_alive():
            self.down()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def snapshot(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._connections.add(task)
        try:
            while (request := await _read_request(reader)) is not None:
                key, body = request
                self.requests += 1
                try:
                    payload = json.loads(body)
                except ValueError:
                    writer.write(BAD)
                    await writer.drain()
                    continue
                if self.slow:
                    await _trickle(writer)
                    return
                if self.latency:
                    await asyncio.sleep(self.latency)
                if reader.at_eof() or reader.exception() is not None:
                    return  # the sender is gone: nobody got the answer
                with self._lock:
                    if key is not None and key in self._keys:
                        self.resent += 1
                    else:
                        self._keys.update([key] if key is not None else [])
                        self.deliveries.append(Delivery(self.now(), payload))
                writer.write(OK)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the sender left, or the receiver is going down
        finally:
            self._connections.discard(task)
            writer.transport.abort()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str | None, bytes] | None:
    """One request's Idempotency-Key (if any) and body; None when the peer closed the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")[1:]
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines if line)}
    return headers.get("idempotency-key"), await reader.readexactly(int(headers.get("content-length", "0")))


async def _trickle(writer: asyncio.StreamWriter) -> None:
    """Answer one byte a second and never finish: the status line, then an endless header."""
    response = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000
    for byte in response:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(1)
