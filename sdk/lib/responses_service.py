"""The Responses API answered by a chat model and the store: what the in-process client and ``llmaas serve``
both run. ``create`` reads the conversation a ``previous_response_id`` continues (the caller's own
responses only), asks the chat model, and stores the finished response with its conversation when
``store`` is not false; ``retrieve``, ``delete`` and ``input_items`` read and remove stored ones."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from .._errors import BadRequestError, NotFoundError
from .._threads import to_thread
from ..types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from ..types.responses import (
    Response,
    ResponseCreateRequest,
    ResponseDeleted,
    ResponseInputItemList,
    ResponseStreamEvent,
)
from . import responses_bridge as bridge

if TYPE_CHECKING:
    from llmaas.store import Store

ChatCall = Callable[[ChatCompletionRequest], Awaitable["ChatCompletion | AsyncIterator[ChatCompletionChunk]"]]


def not_found(response_id: str, param: str = "response_id") -> NotFoundError:
    return NotFoundError(f"Response with id '{response_id}' not found.", status_code=404, param=param,
                         code="response_not_found")


class ResponsesService:
    """Responses over ``store`` for one caller: ``owner`` is who new responses belong to, ``sees`` whose
    responses it may read (its own, or ``"*"`` for every key's)."""

    def __init__(self, store: Store, owner: str | None, sees: str | None) -> None:
        self.store = store
        self.owner = owner
        self.sees = sees

    async def create(self, req: ResponseCreateRequest, chat: ChatCall, model: str | None = None
                     ) -> Response | AsyncIterator[ResponseStreamEvent]:
        """Answer ``req`` with ``chat`` (a chat request for the model ``model``, by default the request's)."""
        from llmaas.store import responses as rows

        if req.background:
            raise BadRequestError("background responses are not served here: leave background unset and stream "
                                  "the response instead", status_code=400, param="background",
                                  code="unsupported_parameter")
        history: list[bridge.Item] = []
        if req.previous_response_id is not None:
            found = await to_thread(rows.conversation, self.store, req.previous_response_id, self.sees)
            if found is None:
                raise NotFoundError(f"Previous response with id '{req.previous_response_id}' not found.",
                                    status_code=404, param="previous_response_id",
                                    code="previous_response_not_found")
            history = found
        items = bridge.input_items(req)
        bridge.check_calls(history, items)
        conversation = history + items
        chat_req = bridge.chat_request(req, model or req.model, conversation)
        base = bridge.skeleton(req, bridge.new_id("resp"), _now(), req.model)
        keep = req.store is not False

        async def save(response: Response) -> None:
            if keep:
                body = response.model_dump(mode="json", by_alias=True)
                await to_thread(rows.save, self.store, self.owner, body, items, conversation + body["output"])

        result = await chat(chat_req)
        if isinstance(result, ChatCompletion):
            response = bridge.response_from(result, base)
            await save(response)
            return response
        return bridge.events_from(result, base, save)

    async def retrieve(self, response_id: str) -> Response:
        from llmaas.store import responses as rows

        body = await to_thread(rows.get, self.store, response_id, self.sees)
        if body is None:
            raise not_found(response_id)
        return Response.model_validate(body)

    async def delete(self, response_id: str) -> ResponseDeleted:
        from llmaas.store import responses as rows

        if not await to_thread(rows.delete, self.store, response_id, self.sees):
            raise not_found(response_id)
        return ResponseDeleted(id=response_id)

    async def cancel(self, response_id: str) -> Response:
        """OpenAI cancels background responses only; this server runs none, so a stored response (always
        finished) is refused as OpenAI refuses a finished one."""
        await self.retrieve(response_id)
        raise BadRequestError("Only responses created with background=true can be cancelled; this response has "
                              "finished", status_code=400, param="response_id", code="not_cancellable")

    async def input_items(self, response_id: str, params: dict[str, Any]) -> ResponseInputItemList:
        from llmaas.store import responses as rows

        items = await to_thread(rows.input_items, self.store, response_id, self.sees)
        if items is None:
            raise not_found(response_id)
        return page(items, params)


def page(items: list[bridge.Item], params: dict[str, Any]) -> ResponseInputItemList:
    """One page of ``items``: ``order`` (``desc``, the default, is newest first), ``after`` an item id,
    ``limit`` 1 to 100 (default 20)."""
    order: Literal["asc", "desc"] = params.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise BadRequestError(f"order must be 'asc' or 'desc', got {order!r}", status_code=400, param="order")
    limit = params.get("limit") or 20
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        raise BadRequestError(f"limit must be a whole number from 1 to 100, got {limit!r}", status_code=400,
                              param="limit")
    ordered = list(reversed(items)) if order == "desc" else list(items)
    after = params.get("after")
    if after:
        ids = [i.get("id") for i in ordered]
        if after not in ids:
            raise NotFoundError(f"No input item {after!r} in this response", status_code=404, param="after",
                                code="item_not_found")
        ordered = ordered[ids.index(after) + 1:]
    data = ordered[:limit]
    return ResponseInputItemList(data=data, has_more=len(ordered) > limit,
                                 first_id=data[0].get("id") if data else None,
                                 last_id=data[-1].get("id") if data else None)


def _now() -> int:
    return int(time.time())

