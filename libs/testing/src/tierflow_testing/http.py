"""Serving an ASGI app over real TCP inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from tierflow_common.ops import EmbeddedServer, bind_socket


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """Run `app` with uvicorn on a free loopback port; yield its base URL."""
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = EmbeddedServer(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


@dataclass(frozen=True)
class EarlyAnswer:
    """What a server answered to a request whose body was still being sent, and how much of the body it got."""

    status: int
    head: str
    body: bytes
    sent: int  # body bytes written to the socket before the answer arrived (or the server closed)
    total: int  # body bytes the request would have carried


async def post_until_answered(
    base_url: str,
    path: str,
    *,
    total: int,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    chunked: bool = False,
    chunk_size: int = 256 * 1024,
    timeout_s: float = 30.0,
) -> EarlyAnswer:
    """Send a `total`-byte body (POST unless `method`) over a raw socket, stopping as soon as the server answers.

    With `chunked`, the body is sent with Transfer-Encoding: chunked and no Content-Length; otherwise
    Content-Length announces all of it. A server that reads the body before answering gets all of it
    (`sent == total`); one that refuses it unread answers after at most what socket buffers hold.
    """
    host, _, port = base_url.removeprefix("http://").partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(total)}
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in {**framing, **(headers or {})}.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = asyncio.ensure_future(reader.read(1 << 16))
    sent = 0
    chunk = b"[" * chunk_size
    try:
        async with asyncio.timeout(timeout_s):
            while sent < total and not answer.done():
                piece = chunk[: min(chunk_size, total - sent)]
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
                drained = asyncio.ensure_future(writer.drain())
                await asyncio.wait({answer, drained}, return_when=asyncio.FIRST_COMPLETED)
                if not drained.done():
                    drained.cancel()
                    break  # it answered while our writes waited: it is not reading
                if drained.exception() is not None:
                    break  # the server closed the connection
            if chunked and sent == total:
                writer.write(b"0\r\n\r\n")
            raw = await answer
            head, _, body = raw.partition(b"\r\n\r\n")
            declared = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            length = int(declared[0].split(b":")[1]) if declared else 0
            while len(body) < length:
                more = await reader.read(1 << 16)
                if not more:
                    break
                body += more
    finally:
        answer.cancel()
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
    return EarlyAnswer(int(head.split()[1]), head.decode("latin-1"), body, sent, total)
