"""The same client against any OpenAI-style server: here llmaas's stub server on loopback stands in for
OpenAI, vLLM, TGI or Ollama (point base_url at yours). Shows typed errors and pagination too."""

import llmaas
from llmaas.testing import StubServer

with StubServer() as server, llmaas.Client(base_url=server.base_url, api_key="demo", max_retries=1) as client:
    print(f"[stub server at {server.base_url}]")
    reply = client.chat.completions.create(model="stub-model", messages=[{"role": "user", "content": "Hello"}])
    print("chat:  ", reply.choices[0].message.content)
    print("stream:", "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model="stub-model", messages=[{"role": "user", "content": "Hello"}], stream=True)))
    print("models:", [m.id for m in client.models.list()])
    try:
        client.chat.completions.create(model="stub-model", messages=[{"role": "user", "content": "Hi"}],
                                       temprature=0.3)  # pyright: ignore[reportCallIssue] (the misspelling is the point)
    except llmaas.BadRequestError as err:
        print("typed error before any network call:", err)
