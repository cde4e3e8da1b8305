"""Quickstart: the typed client, a chat, a stream and a model list.

Until the in-process engine lands this runs against llmaas's stub server (an OpenAI-shaped test double on
loopback); the calls are the same ones you make against any OpenAI-style API.
"""

import llmaas
from llmaas.testing import StubServer

with StubServer() as server, llmaas.Client(base_url=server.base_url, api_key="demo") as client:
    print(f"[stub server at {server.base_url}]")
    reply = client.chat.completions.create(
        model="stub-model", messages=[{"role": "user", "content": "Say hello."}]
    )
    print("chat:  ", reply.choices[0].message.content)
    print("stream:", end=" ")
    for chunk in client.chat.completions.create(
        model="stub-model", messages=[{"role": "user", "content": "Say hello."}], stream=True
    ):
        print(chunk.choices[0].delta.content or "", end="", flush=True)
    print()
    print("models:", [m.id for m in client.models.list()])
