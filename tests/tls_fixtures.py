"""A TLS front for the embedded server, for the ``rediss://`` tests.

The bundled Valkey is built without TLS, so a test that wants a real handshake puts a
TLS terminator before it: :class:`TlsFront` accepts TLS on a loopback port with a
certificate from a throwaway CA (trustme) and pipes the plain bytes to the server. The
client side is then exactly what users run against a managed ``rediss://`` Redis.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from backend.broker import EmbeddedBroker

CHUNK = 1 << 16


class TlsFront:
    """TLS on ``127.0.0.1:<port>``, piped to the plain server on ``target_port``; runs
    its own event loop in a thread until :meth:`stop`."""

    def __init__(self, target_port: int, context: ssl.SSLContext) -> None:
        self.target_port = target_port
        self.context = context
        self.port = 0
        self._loop = asyncio.SelectorEventLoop()  # not the policy's: under qasync, a Qt loop
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tls-front", daemon=True)
        self._pipes: set[asyncio.Task[None]] = set()

    def start(self) -> TlsFront:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the TLS front did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for pipe in self._pipes:
                pipe.cancel()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            plain = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        plain_reader, plain_writer = plain
        for source, sink in ((reader, plain_writer), (plain_reader, writer)):
            pipe = asyncio.create_task(_pipe(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(CHUNK):
            sink.write(data)
            await sink.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        sink.close()


@dataclass
class TlsServer:
    """The embedded server behind TLS: ``url`` trusts the test CA (``ca_file``),
    ``untrusted_url`` relies on the system's CAs (which do not know it)."""

    url: str
    untrusted_url: str
    ca_file: Path


@pytest.fixture
def tls_server(redis_url: str, broker: EmbeddedBroker, tmp_path: Path) -> Iterator[TlsServer]:
    """The test's (emptied) server, reached through TLS with a certificate for localhost."""
    authority = trustme.CA()
    certificate = authority.issue_cert("localhost", "127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    front = TlsFront(broker.port, context).start()
    try:
        secret = f":{broker.password}@" if broker.password else ""
        address = f"rediss://{secret}127.0.0.1:{front.port}/0"
        yield TlsServer(f"{address}?ssl_ca_certs={ca_file}", address, ca_file)
    finally:
        front.stop()
