"""The SDK against a remote OpenAI-style API (mocked with respx: we cannot reach real ones here)."""

import json

import httpx
import pytest
import respx

import llmaas
from llmaas.types import ChatCompletion, ChatCompletionChunk

from .conftest import BASE, chat_body, chunk


def sse(*events, done=True):
    text = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
    return text + ("data: [DONE]\n\n" if done else "")


@pytest.fixture
def client():
    c = llmaas.Client(base_url=BASE, api_key="sk-test")
    yield c
    c.close()


@pytest.fixture
async def aclient():
    c = llmaas.AsyncClient(base_url=BASE, api_key="sk-test")
    yield c
    await c.aclose()


MSG = [{"role": "user", "content": "Hi"}]


@respx.mock
def test_chat_sends_typed_request_and_parses_response(client):
    route = respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body()))
    out = client.chat.completions.create(model="m", messages=MSG, temperature=0.2, max_tokens=5)
    assert isinstance(out, ChatCompletion)
    assert out.choices[0].message.content == "Hello!"
    assert out.usage.total_tokens == 5
    sent = json.loads(route.calls[0].request.content)
    assert sent == {"model": "m", "messages": MSG, "temperature": 0.2, "max_tokens": 5}
    assert route.calls[0].request.headers["authorization"] == "Bearer sk-test"


@respx.mock
def test_response_keeps_unknown_fields(client):
    body = chat_body()
    body["x_server_field"] = {"gpu": "h100"}
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, json=body))
    out = client.chat.completions.create(model="m", messages=MSG)
    assert out.x_server_field == {"gpu": "h100"}


@respx.mock
def test_unknown_request_field_rejected_before_network_unless_extra_body(client):
    route = respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body()))
    with pytest.raises(llmaas.BadRequestError) as info:
        client.chat.completions.create(model="m", messages=MSG, temprature=0.5)
    assert info.value.param == "temprature" and "temprature" in str(info.value)
    assert not route.called
    client.chat.completions.create(model="m", messages=MSG, extra_body={"repetition_penalty": 1.1},
                                   extra_headers={"X-Trace": "abc"})
    assert json.loads(route.calls[0].request.content)["repetition_penalty"] == 1.1
    assert route.calls[0].request.headers["x-trace"] == "abc"


@pytest.mark.parametrize(
    ("bad", "param"),
    [({"messages": []}, "messages"), ({"temperature": 5}, "temperature"), ({"n": 0}, "n"),
     ({"messages": [{"role": "user"}]}, "messages.0.user.content"), ({"top_p": "high"}, "top_p")],
)
def test_invalid_values_name_the_field(client, bad, param):
    kwargs = {"model": "m", "messages": MSG, **bad}
    with pytest.raises(llmaas.BadRequestError) as info:
        client.chat.completions.create(**kwargs)
    assert info.value.param == param


@respx.mock
def test_sync_stream_yields_chunks_and_usage(client):
    body = sse(chunk("Hel"), chunk("lo"), chunk(finish="stop"),
               chunk(usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}))
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, text=body))
    with client.chat.completions.create(model="m", messages=MSG, stream=True,
                                        stream_options={"include_usage": True}) as stream:
        chunks = list(stream)
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello"
    assert chunks[-1].usage.total_tokens == 3


@respx.mock
def test_truncated_stream_raises_instead_of_ending_quietly(client):
    respx.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, text=sse(chunk("Hel"), chunk("lo"), done=False)))
    got = []
    with pytest.raises(llmaas.IncompleteStreamError, match=r"ended after 2 chunks without 'data: \[DONE\]'"):
        for c in client.chat.completions.create(model="m", messages=MSG, stream=True):
            got.append(c)
    assert len(got) == 2


@respx.mock
def test_stream_survives_comments_and_keepalives(client):
    body = ": connected\n\n" + f"data: {json.dumps(chunk('a'))}\n\n" + ": ping\n\n\n" + "data: [DONE]\n\n"
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, text=body))
    assert [c.choices[0].delta.content for c in client.chat.completions.create(model="m", messages=MSG,
                                                                                 stream=True)] == ["a"]


@respx.mock
def test_error_event_mid_stream_is_typed(client):
    body = f"data: {json.dumps(chunk('a'))}\n\n" + 'data: {"error": {"message": "engine overloaded", "type": "server_error"}}\n\n'
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, text=body))
    with pytest.raises(llmaas.InternalServerError, match="engine overloaded"):
        list(client.chat.completions.create(model="m", messages=MSG, stream=True))


@respx.mock
def test_non_json_stream_event_is_a_validation_error(client):
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, text="data: {oops\n\n"))
    with pytest.raises(llmaas.APIResponseValidationError, match="not JSON"):
        list(client.chat.completions.create(model="m", messages=MSG, stream=True))


class TrackedStream(httpx.AsyncByteStream):
    """A response body that never ends by itself and records whether the client closed it."""

    def __init__(self):
        self.closed = False

    async def __aiter__(self):
        for i in range(1000):
            yield f"data: {json.dumps(chunk(str(i)))}\n\n".encode()

    async def aclose(self):
        self.closed = True


@respx.mock
async def test_async_stream_closes_connection_on_break_inside_context(aclient):
    body = TrackedStream()
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, stream=body))
    async with await aclient.chat.completions.create(model="m", messages=MSG, stream=True) as stream:
        async for c in stream:
            if c.choices[0].delta.content == "2":
                break
    assert body.closed


@respx.mock
def test_sync_stream_closes_connection_on_break(client):
    body = TrackedStream()
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, stream=body))
    for c in client.chat.completions.create(model="m", messages=MSG, stream=True):
        if c.choices[0].delta.content == "1":
            break
    assert body.closed


@respx.mock
async def test_async_client_concurrent_requests(aclient):
    import asyncio

    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body()))
    outs = await asyncio.gather(*[aclient.chat.completions.create(model="m", messages=MSG) for _ in range(16)])
    assert len(outs) == 16 and all(o.choices[0].message.content == "Hello!" for o in outs)


@respx.mock
def test_completions_and_embeddings_and_moderations(client):
    respx.post(f"{BASE}/completions").mock(return_value=httpx.Response(200, json={
        "id": "c", "object": "text_completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "text": " world", "finish_reason": "length", "logprobs": None}]}))
    respx.post(f"{BASE}/embeddings").mock(return_value=httpx.Response(200, json={
        "object": "list", "model": "e", "usage": {"prompt_tokens": 2, "total_tokens": 2},
        "data": [{"object": "embedding", "index": 0, "embedding": "AACAPwAAAEA="}]}))
    respx.post(f"{BASE}/moderations").mock(return_value=httpx.Response(200, json={
        "id": "modr-1", "model": "mod", "results": [{"flagged": True, "categories": {"hate": True},
                                                     "category_scores": {"hate": 0.9}}]}))
    assert client.completions.create(model="m", prompt="hello").choices[0].text == " world"
    emb = client.embeddings.create(model="e", input="hi", encoding_format="base64")
    assert emb.data[0].vector() == [1.0, 2.0]
    assert client.moderations.create(input="x").results[0].categories["hate"] is True


def _page(ids, has_more):
    return {"object": "list", "data": [{"id": i, "object": "file", "bytes": 1, "created_at": 1,
                                         "filename": "f.jsonl", "purpose": "fine-tune"} for i in ids],
            "has_more": has_more}


@respx.mock
def test_pagination_walks_every_page_with_after_cursor(client):
    def pages(request):
        after = request.url.params.get("after")
        table = {None: (["f1", "f2"], True), "f2": (["f3", "f4"], True), "f4": (["f5"], False)}
        ids, more = table[after]
        return httpx.Response(200, json=_page(ids, more))

    route = respx.get(f"{BASE}/files").mock(side_effect=pages)
    page = client.files.list(limit=2)
    assert [f.id for f in page.data] == ["f1", "f2"] and page.has_more
    assert [f.id for f in page] == ["f1", "f2", "f3", "f4", "f5"]
    assert [c.request.url.params.get("after") for c in route.calls] == [None, "f2", "f4"]
    assert route.calls[0].request.url.params["limit"] == "2"


@respx.mock
async def test_async_pagination(aclient):
    def pages(request):
        after = request.url.params.get("after")
        return httpx.Response(200, json=_page(["a"], True) if after is None else _page(["b"], False))

    respx.get(f"{BASE}/files").mock(side_effect=pages)
    page = await aclient.files.list()
    assert [f.id async for f in page] == ["a", "b"]


@respx.mock
def test_files_upload_is_multipart(client, tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(b'{"messages": []}\n')
    route = respx.post(f"{BASE}/files").mock(return_value=httpx.Response(200, json={
        "id": "file-1", "object": "file", "bytes": 17, "created_at": 1, "filename": "train.jsonl",
        "purpose": "fine-tune"}))
    f = client.files.create(file=path, purpose="fine-tune")
    assert f.id == "file-1"
    req = route.calls[0].request
    assert req.headers["content-type"].startswith("multipart/form-data")
    assert b'name="purpose"' in req.content and b"fine-tune" in req.content and b"train.jsonl" in req.content
    with pytest.raises(llmaas.BadRequestError, match="does not exist"):
        client.files.create(file=tmp_path / "missing.jsonl", purpose="fine-tune")


@respx.mock
def test_fine_tuning_jobs_routes(client):
    job = {"id": "ftjob-1", "object": "fine_tuning.job", "created_at": 1, "model": "m", "status": "queued",
           "training_file": "file-1", "hyperparameters": {"n_epochs": 3}}
    respx.post(f"{BASE}/fine_tuning/jobs").mock(return_value=httpx.Response(200, json=job))
    respx.post(f"{BASE}/fine_tuning/jobs/ftjob-1/cancel").mock(
        return_value=httpx.Response(200, json={**job, "status": "cancelled"}))
    respx.get(f"{BASE}/fine_tuning/jobs/ftjob-1/events").mock(return_value=httpx.Response(200, json={
        "object": "list", "has_more": False, "data": [{"id": "ev-1", "object": "fine_tuning.job.event",
                                                         "created_at": 1, "level": "info", "message": "queued"}]}))
    respx.get(f"{BASE}/fine_tuning/jobs/ftjob-1/checkpoints").mock(return_value=httpx.Response(200, json={
        "object": "list", "has_more": False, "data": [{
            "id": "ckpt-1", "object": "fine_tuning.job.checkpoint", "created_at": 1,
            "fine_tuned_model_checkpoint": "ft:m:ckpt", "fine_tuning_job_id": "ftjob-1",
            "metrics": {"step": 10, "train_loss": 0.5}, "step_number": 10}]}))
    created = client.fine_tuning.jobs.create(model="m", training_file="file-1", hyperparameters={"n_epochs": 3})
    assert created.status == "queued"
    assert client.fine_tuning.jobs.cancel("ftjob-1").status == "cancelled"
    assert [e.message for e in client.fine_tuning.jobs.list_events("ftjob-1")] == ["queued"]
    assert client.fine_tuning.jobs.checkpoints.list("ftjob-1").data[0].metrics.train_loss == 0.5


@respx.mock
def test_models_list_retrieve_delete(client):
    respx.get(f"{BASE}/models").mock(return_value=httpx.Response(200, json={
        "object": "list", "data": [{"id": "m1", "object": "model", "created": 1, "owned_by": "x"}]}))
    respx.get(f"{BASE}/models/ft%3Am1%3Aorg").mock(return_value=httpx.Response(200, json={
        "id": "ft:m1:org", "object": "model", "created": 1, "owned_by": "org"}))
    respx.delete(f"{BASE}/models/ft%3Am1%3Aorg").mock(return_value=httpx.Response(200, json={
        "id": "ft:m1:org", "object": "model", "deleted": True}))
    assert [m.id for m in client.models.list()] == ["m1"]
    assert client.models.retrieve("ft:m1:org").owned_by == "org"
    assert client.models.delete("ft:m1:org").deleted
