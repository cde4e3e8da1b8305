"""A sync ``httpx.Client`` under the async client: the sync ``Client`` runs on the async implementation, so
a caller's sync client (its proxies, transport, auth and event hooks) is reached through this transport,
which sends each request with it on a worker thread."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx

from llmaas._threads import to_thread


class _ThreadedBody(httpx.AsyncByteStream):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        # a transport that answered with its body already read (a mock, a cache) has nothing left to stream
        self._chunks: Iterator[bytes] = iter([response.content]) if response.is_stream_consumed \
            else response.iter_raw()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            chunk: bytes | None = await to_thread(next, self._chunks, None)
            if chunk is None:
                return
            yield chunk

    async def aclose(self) -> None:
        await to_thread(self._response.close)


class SyncClientTransport(httpx.AsyncBaseTransport):
    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        sync_request = self.client.build_request(request.method, request.url, headers=request.headers, content=body,
                                                 extensions=request.extensions)
        response = await to_thread(self.client.send, sync_request, stream=True)
        return httpx.Response(response.status_code, headers=response.headers, stream=_ThreadedBody(response),
                              extensions=response.extensions)

    async def aclose(self) -> None:
        await to_thread(self.client.close)


def as_async(client: httpx.Client, timeout: httpx.Timeout | None = None) -> httpx.AsyncClient:
    """An async client that sends everything through ``client``."""
    return httpx.AsyncClient(transport=SyncClientTransport(client), timeout=timeout or client.timeout)
