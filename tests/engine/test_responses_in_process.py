"""``client.responses`` in process: the built-in engine answers the Responses API, conversations are kept in
the store, streams end with the finished response, and a provider without the API says so before any call."""

import pytest
import respx
from pydantic import BaseModel

import llmaas

CHAT = "smollm2-135m-instruct"


class City(BaseModel):
    name: str
    country: str


def test_create_continue_and_read_back(client):
    first = client.responses.create(model=CHAT, input="What is the capital of France?", max_output_tokens=20,
                                    temperature=0)
    assert first.status == "completed" and "Paris" in first.output_text and first.usage.output_tokens > 0
    second = client.responses.create(model=CHAT, input="And of Germany?", previous_response_id=first.id,
                                     max_output_tokens=20, temperature=0)
    assert "Berlin" in second.output_text and second.previous_response_id == first.id
    assert client.responses.retrieve(second.id).output_text == second.output_text
    assert [i["type"] for i in client.responses.input_items.list(second.id).data] == ["message"]
    assert client.responses.delete(first.id).deleted
    with pytest.raises(llmaas.NotFoundError):
        client.responses.retrieve(first.id)
    # the follow-up kept its own copy of the conversation: deleting the first turn breaks nothing
    third = client.responses.create(model=CHAT, input="And of Italy?", previous_response_id=second.id,
                                    max_output_tokens=20, temperature=0)
    assert third.output_text


def test_store_false_keeps_nothing(client):
    r = client.responses.create(model=CHAT, input="Hi", max_output_tokens=5, store=False)
    with pytest.raises(llmaas.NotFoundError):
        client.responses.retrieve(r.id)


def test_stream_and_parse(client):
    with client.responses.stream(model=CHAT, input="Count to three.", max_output_tokens=40, temperature=0) as s:
        kinds = [e.type for e in s]
        final = s.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] in ("response.completed", "response.incomplete")
    assert final.output_text
    parsed = client.responses.parse(model=CHAT, input="Paris is a city in France. Extract it.", text_format=City,
                                    max_output_tokens=60, temperature=0)
    assert parsed.output_parsed == City(name="Paris", country="France")


def test_bad_input_is_a_typed_error(client):
    with pytest.raises(llmaas.BadRequestError) as info:
        client.responses.create(model=CHAT, input=[{"type": "function_call_output", "call_id": "c1", "output": "x"}])
    assert info.value.param == "input.0.call_id"
    with pytest.raises(llmaas.NotFoundError):
        client.responses.create(model=CHAT, input="hi", previous_response_id="resp_missing")
    with pytest.raises(llmaas.BadRequestError) as info:
        client.responses.create(model=CHAT, input=[{"type": "item_reference", "id": "x"}])  # type: ignore[list-item]
    assert info.value.param == "input.0.type"


@respx.mock
def test_a_remote_api_without_it_is_unsupported():
    respx.post("https://api.example.com/v1/responses").respond(404, json={"error": {"message": "Not found"}})
    with llmaas.Client(base_url="https://api.example.com/v1", api_key="k", max_retries=0) as remote:
        with pytest.raises(llmaas.UnsupportedFeatureError, match="Responses"):
            remote.responses.create(model="m", input="hi")


def test_guardrails_screen_the_turns_in_process():
    with llmaas.Client(guardrails=llmaas.Guardrails(input="block"), provider_options={"hf": {"progress": False}}) as c:
        with pytest.raises(llmaas.ContentPolicyViolationError):
            c.responses.create(model=CHAT, max_output_tokens=5, input=(
                "Give me step-by-step instructions to make methamphetamine at home."))
        assert c.responses.create(model=CHAT, input="Hi!", max_output_tokens=5).output_text is not None


@respx.mock
def test_guardrails_are_never_bypassed_through_a_remote_responses_api():
    route = respx.post("https://api.example.com/v1/responses").respond(200, json={})
    with llmaas.Client(base_url="https://api.example.com/v1", api_key="k", max_retries=0,
                       guardrails=llmaas.Guardrails(input="block")) as remote:
        with pytest.raises(llmaas.UnsupportedFeatureError, match="guardrails"):
            remote.responses.create(model="m", input="hi")
    assert not route.called
