"""``client.batches``: a JSONL file of requests (uploaded with purpose ``batch``) run offline, its answers in
an output file and its failures in an error file, both read with ``client.files.content``."""

from __future__ import annotations

from typing_extensions import Unpack

from .._pagination import AsyncPaginator, PageResult, SyncPage
from .._provider import Capability, Provider
from .._response import APIResponse, RawView, raw, sync_raw
from .._sync import SyncResource
from ..types.batches import Batch, BatchRequest
from ..types.create_params import BatchCreateParams, PageParams, RequestOptionsParams
from ._base import AsyncAPIResource, build_request, paginate


class AsyncBatches(AsyncAPIResource):
    """``client.batches``: large offline jobs. Upload a JSONL of requests with purpose ``batch``, create a batch
    over it, and read the answers from its output file when it completes."""
    def _backend(self) -> Provider:
        return self._default_backend(Capability.BATCHES, "batches")

    async def create(self, **params: Unpack[BatchCreateParams]) -> Batch:
        """Run every request of ``input_file_id`` against ``endpoint`` (``/v1/chat/completions``,
        ``/v1/completions``, ``/v1/embeddings``, ``/v1/moderations`` or ``/v1/responses``) within
        ``completion_window`` (default ``24h``)."""
        fields, options = self._split(params)
        return await self._backend().create_batch(build_request(BatchRequest, fields), options)

    async def retrieve(self, batch_id: str, **params: Unpack[RequestOptionsParams]) -> Batch:
        """Batch ``batch_id``: its ``status``, ``request_counts``, timestamps, ``output_file_id`` and
        ``error_file_id``."""
        _, options = self._split(params)
        return await self._backend().retrieve_batch(batch_id, options)

    def list(self, **params: Unpack[PageParams]) -> AsyncPaginator[Batch]:
        """This key's batches, newest first: a page that iterates on through every batch (on the async client,
        ``await`` it for the page or ``async for`` over it)."""
        fields, options = self._split(params)
        backend = self._backend()

        async def fetch(cursor: str | None) -> PageResult[Batch]:
            return await backend.list_batches({"limit": fields.get("limit"), "after": cursor}, options)

        return paginate(fetch, fields.get("after"))

    async def cancel(self, batch_id: str, **params: Unpack[RequestOptionsParams]) -> Batch:
        """Stop a batch: it is ``cancelling`` at once and ``cancelled`` within seconds, with what finished
        delivered in its output file."""
        _, options = self._split(params)
        return await self._backend().cancel_batch(batch_id, options)

    @property
    def with_raw_response(self) -> AsyncBatchesWithRawResponse:
        """The same calls, answered with the HTTP response (status, headers, request id) and ``parse()``."""
        return AsyncBatchesWithRawResponse(self)


class AsyncBatchesWithRawResponse(RawView[AsyncBatches]):
    async def create(self, **params: Unpack[BatchCreateParams]) -> APIResponse[Batch]:
        return await raw(self._resource.create)(**params)

    async def retrieve(self, batch_id: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[Batch]:
        return await raw(self._resource.retrieve)(batch_id, **params)

    async def cancel(self, batch_id: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[Batch]:
        return await raw(self._resource.cancel)(batch_id, **params)


class Batches(SyncResource[AsyncBatches]):
    def create(self, **params: Unpack[BatchCreateParams]) -> Batch:
        return self._call(self._async.create(**params))

    def retrieve(self, batch_id: str, **params: Unpack[RequestOptionsParams]) -> Batch:
        return self._call(self._async.retrieve(batch_id, **params))

    def list(self, **params: Unpack[PageParams]) -> SyncPage[Batch]:
        return self._call(self._async.list(**params))

    def cancel(self, batch_id: str, **params: Unpack[RequestOptionsParams]) -> Batch:
        return self._call(self._async.cancel(batch_id, **params))

    @property
    def with_raw_response(self) -> BatchesWithRawResponse:
        return BatchesWithRawResponse(self)


class BatchesWithRawResponse(RawView[Batches]):
    def create(self, **params: Unpack[BatchCreateParams]) -> APIResponse[Batch]:
        return sync_raw(self._resource.create)(**params)

    def retrieve(self, batch_id: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[Batch]:
        return sync_raw(self._resource.retrieve)(batch_id, **params)

    def cancel(self, batch_id: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[Batch]:
        return sync_raw(self._resource.cancel)(batch_id, **params)
