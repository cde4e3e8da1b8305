"""Every server's error shape maps to the same typed exceptions, keeping the server's message."""

import httpx
import pytest
import respx

import llmaas

from .conftest import BASE, chat_body

MSG = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def client():
    c = llmaas.Client(base_url=BASE, api_key="sk-test", max_retries=0)
    yield c
    c.close()


@pytest.mark.parametrize(
    ("status", "kwargs", "exc", "message", "code"),
    [
        (400, {"json": {"error": {"message": "This model's maximum context length is 2048 tokens",
                                  "type": "invalid_request_error", "param": "messages",
                                  "code": "context_length_exceeded"}}},
         llmaas.ContextLengthExceededError, "maximum context length is 2048", "context_length_exceeded"),
        (401, {"json": {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                  "param": None, "code": "invalid_api_key"}}},
         llmaas.AuthenticationError, "Incorrect API key provided", "invalid_api_key"),
        (422, {"json": {"error": "Input validation error: `inputs` must have less than 1024 tokens",
                        "error_type": "validation"}},  # TGI
         llmaas.UnprocessableEntityError, "must have less than 1024 tokens", None),
        (404, {"json": {"error": "model 'llama9' not found, try pulling it first"}},  # Ollama
         llmaas.NotFoundError, "model 'llama9' not found", None),
        (502, {"text": "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
               "headers": {"content-type": "text/html"}},
         llmaas.InternalServerError, "HTML page: <html><head><title>502 Bad Gateway", None),
        (403, {"text": "forbidden by proxy policy"}, llmaas.PermissionDeniedError, "forbidden by proxy policy", None),
        (409, {"json": {"detail": "job already running"}}, llmaas.ConflictError, "job already running", None),
        (413, {"text": ""}, llmaas.RequestTooLargeError, "Error code: 413", None),
        (429, {"json": {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}},
         llmaas.RateLimitError, "Rate limit reached", None),
        (418, {"json": {"error": {"message": "teapot"}}}, llmaas.APIStatusError, "teapot", None),
    ],
)
@respx.mock
def test_error_shapes(client, status, kwargs, exc, message, code):
    headers = {"x-request-id": "req_123", **kwargs.pop("headers", {})}
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(status, headers=headers, **kwargs))
    with pytest.raises(exc) as info:
        client.chat.completions.create(model="m", messages=MSG)
    err = info.value
    assert type(err) is exc
    assert message in str(err) and message in err.message
    assert err.status_code == status and err.request_id == "req_123" and err.code == code
    assert err.response is not None and err.response.status_code == status
    assert isinstance(err, llmaas.APIStatusError) and isinstance(err, llmaas.LLMaaSError)


@respx.mock
def test_tgi_message_survives_where_the_official_client_shows_only_the_status(client):
    body = {"error": "Input validation error: `max_new_tokens` must be <= 512", "error_type": "validation"}
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(422, json=body))
    with pytest.raises(llmaas.UnprocessableEntityError) as info:
        client.chat.completions.create(model="m", messages=MSG)
    assert info.value.message.endswith("Input validation error: `max_new_tokens` must be <= 512")
    assert info.value.type == "validation" and info.value.body == body


@respx.mock
def test_malformed_success_body(client):
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(llmaas.APIResponseValidationError, match="not JSON.*base URL"):
        client.chat.completions.create(model="m", messages=MSG)


@respx.mock
def test_wrong_shape_success_body(client):
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, json={"id": "x", "choices": 3}))
    with pytest.raises(llmaas.APIResponseValidationError, match="not a valid ChatCompletion.*choices"):
        client.chat.completions.create(model="m", messages=MSG)


@respx.mock
def test_connection_error_and_timeout():
    respx.post(f"{BASE}/chat/completions").mock(side_effect=httpx.ConnectError("refused"))
    with llmaas.Client(base_url=BASE, max_retries=0) as c, pytest.raises(llmaas.APIConnectionError, match="refused"):
        c.chat.completions.create(model="m", messages=MSG)
    respx.post(f"{BASE}/chat/completions").mock(side_effect=httpx.ReadTimeout("slow"))
    with llmaas.Client(base_url=BASE, max_retries=0) as c, pytest.raises(llmaas.APITimeoutError):
        c.chat.completions.create(model="m", messages=MSG)


@respx.mock
def test_retries_429_honouring_retry_after_then_succeeds():
    route = respx.post(f"{BASE}/chat/completions").mock(side_effect=[
        httpx.Response(429, headers={"retry-after-ms": "5"}, json={"error": {"message": "slow down"}}),
        httpx.Response(503, text="busy"),
        httpx.Response(200, json=chat_body()),
    ])
    with llmaas.Client(base_url=BASE) as c:
        assert c.chat.completions.create(model="m", messages=MSG).choices[0].message.content == "Hello!"
    assert route.call_count == 3


@respx.mock
def test_gives_up_after_max_retries():
    route = respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(500, json={"error": {"message": "boom"}}))
    with llmaas.Client(base_url=BASE, max_retries=3) as c, pytest.raises(llmaas.InternalServerError, match="boom"):
        c.chat.completions.create(model="m", messages=MSG)
    assert route.call_count == 4
    route.reset()
    with llmaas.Client(base_url=BASE) as c, pytest.raises(llmaas.InternalServerError):
        c.chat.completions.create(model="m", messages=MSG, max_retries=0)
    assert route.call_count == 1


@respx.mock
@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_never_retries_other_4xx(status):
    route = respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(status, json={"error": "no"}))
    with llmaas.Client(base_url=BASE, max_retries=5) as c, pytest.raises(llmaas.APIStatusError):
        c.chat.completions.create(model="m", messages=MSG)
    assert route.call_count == 1


@respx.mock
def test_retries_connection_errors():
    route = respx.post(f"{BASE}/chat/completions").mock(side_effect=[
        httpx.ConnectError("refused"), httpx.Response(200, json=chat_body())])
    with llmaas.Client(base_url=BASE) as c:
        c.chat.completions.create(model="m", messages=MSG)
    assert route.call_count == 2


def test_missing_api_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    with llmaas.Client() as c, pytest.raises(llmaas.MissingAPIKeyError, match="GROQ_API_KEY"):
        c.chat.completions.create(model="groq:llama-3.1-8b-instant", messages=MSG)


@respx.mock
def test_preset_uses_env_key_and_url(monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "gsk-1")
    monkeypatch.setenv("LLMAAS_GROQ_BASE_URL", BASE)
    route = respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body()))
    with llmaas.Client() as c:
        c.chat.completions.create(model="groq:llama-3.1-8b-instant", messages=MSG)
    assert route.calls[0].request.headers["authorization"] == "Bearer gsk-1"
    assert route.calls[0].request.content.count(b'"model":"llama-3.1-8b-instant"') == 1


def test_unknown_provider_prefix_lists_known_ones():
    with llmaas.Client() as c, pytest.raises(llmaas.UnknownProviderError, match="'nosuch'.*known providers:.*groq"):
        c.chat.completions.create(model="nosuch:model", messages=MSG)
    with pytest.raises(llmaas.UnknownProviderError):
        llmaas.Client(provider="nosuch").models.list()


@respx.mock
def test_explicit_base_url_passes_colon_ids_through():
    route = respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body()))
    with llmaas.Client(base_url=BASE) as c:
        c.chat.completions.create(model="llama3:8b", messages=MSG)
    assert b'"model":"llama3:8b"' in route.calls[0].request.content


@respx.mock
def test_a_default_provider_named_by_the_environment_passes_colon_ids_through(monkeypatch):
    """LLMAAS_PROVIDER makes the default explicit, as provider= does: ``llama3:8b`` goes to it whole."""
    monkeypatch.setenv("LLMAAS_PROVIDER", "ollama")
    route = respx.post("http://localhost:11434/v1/chat/completions").mock(
        return_value=httpx.Response(200, json=chat_body()))
    with llmaas.Client() as c:
        c.chat.completions.create(model="llama3:8b", messages=MSG)
    assert b'"model":"llama3:8b"' in route.calls[0].request.content


class ChatOnly(llmaas.BaseProvider):
    name = "chatonly"
    capabilities = frozenset({llmaas.Capability.CHAT})


def test_unsupported_feature_raised_before_network():
    with llmaas.Client(provider=ChatOnly()) as c:
        with pytest.raises(llmaas.UnsupportedFeatureError, match="'chatonly' does not support embeddings"):
            c.embeddings.create(model="x", input="hi")
        with pytest.raises(llmaas.UnsupportedFeatureError, match="fine-tuning"):
            c.fine_tuning.jobs.list()


@respx.mock(assert_all_called=False)
def test_model_management_is_refused_up_front_by_services_that_are_not_llmaas(respx_mock):
    route = respx_mock.route()  # any request at all would be a failure of the check
    with llmaas.Client(provider="groq", api_key="k") as c:
        for call in (lambda: c.models.register("mine", path="/models/x"), lambda: c.models.alias("a", model="b"),
                     lambda: c.models.load("m"), lambda: c.models.unload("m")):
            with pytest.raises(llmaas.UnsupportedFeatureError, match="'groq' does not support"):
                call()
    assert not route.called
