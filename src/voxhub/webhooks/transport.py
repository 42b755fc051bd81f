"""An httpx transport that connects only to addresses voxhub has already vetted.

The allowlist resolves the callback's host and checks every address; if the HTTP client then
resolved the name again, a DNS answer that changed in between (rebinding) would steer the
request inward. Here the network backend is given the vetted addresses and connects to those,
never looking the name up itself. The URL keeps its hostname, so the Host header, TLS SNI and
certificate verification all stay on the name the job's owner gave.
"""

from __future__ import annotations

import ssl
import typing
from collections.abc import Sequence

import httpcore
import httpx

from voxhub.webhooks.destinations import IpAddress

# Read once: building a verifying SSL context loads the CA bundle, which takes milliseconds.
_SSL: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    global _SSL
    if _SSL is None:
        _SSL = httpx.create_ssl_context(trust_env=False)
    return _SSL


class NotVetted(httpcore.ConnectError):
    """The client asked for a host this transport was not given addresses for."""


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects `host` to its vetted addresses, in order, and refuses every other host."""

    def __init__(self, host: str, addresses: Sequence[IpAddress]) -> None:
        self._host = host.lower()
        self._addresses = list(addresses)
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host.lower() != self._host or not self._addresses:
            raise NotVetted(f"{host} is not the vetted destination")
        last: Exception | None = None
        for ip in self._addresses:  # every one of them passed the allowlist
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise NotVetted("webhooks are never sent over a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 to one host's vetted addresses; one connection pool per delivery attempt."""

    def __init__(
        self,
        host: str,
        addresses: Sequence[IpAddress],
        ssl_context: ssl.SSLContext | None = None,  # tests trust their own CA with it
    ) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or _ssl_context(),
            max_connections=1,
            max_keepalive_connections=0,
            network_backend=PinnedBackend(host, addresses),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        req = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            resp = await self._pool.handle_async_request(req)
        except httpcore.TimeoutException as exc:
            raise httpx.TimeoutException(str(exc), request=request) from exc
        except httpcore.ConnectError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except httpcore.ProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except httpcore.NetworkError as exc:
            raise httpx.TransportError(str(exc), request=request) from exc
        assert isinstance(resp.stream, typing.AsyncIterable)
        return httpx.Response(
            status_code=resp.status,
            headers=resp.headers,
            stream=_Stream(resp.stream),
            extensions=resp.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _Stream(httpx.AsyncByteStream):
    def __init__(self, stream: typing.AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except httpcore.TimeoutException as exc:
            raise httpx.ReadTimeout(str(exc)) from exc
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise httpx.ReadError(str(exc)) from exc

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()
