"""The built-in server and the official openai client: `Client(provider="local")` starts a private
`llmaas serve` for this script (stopped when the client closes); any OpenAI client can then use it."""

import openai

import llmaas
from llmaas.providers.local import LocalProvider

with llmaas.Client(provider="local") as client:
    reply = client.chat.completions.create(
        model="local:smollm2-135m-instruct", messages=[{"role": "user", "content": "Say hi."}], max_tokens=20)
    print("llmaas client:", reply.choices[0].message.content)

    local = client.provider("local")
    assert isinstance(local, LocalProvider)
    base_url = local.base_url
    oai = openai.OpenAI(base_url=base_url, api_key="unused")  # no keys exist: the server is loopback-only
    print("openai client:", oai.chat.completions.create(
        model="smollm2-135m-instruct", messages=[{"role": "user", "content": "Say hi."}], max_tokens=20,
    ).choices[0].message.content)
    print("models:", [m.id for m in oai.models.list()])
    print(f"server was at {base_url}")
