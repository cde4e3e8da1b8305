"""Local first, remote when needed: a router whose public model "chat" is the built-in model in this
process, with a remote OpenAI-style API behind it for what the local model cannot serve (here a prompt
longer than its 8,192-token context) or when it fails. The remote is REMOTE_BASE_URL with its model in
REMOTE_MODEL and its key in REMOTE_API_KEY (Groq, OpenAI, a vLLM fleet, ...); without them a stand-in
server on loopback plays the remote (llmaas.testing.StubServer), so the script runs offline."""

import os

import llmaas
from llmaas.router import UsageRecord
from llmaas.testing import StubServer


def run(remote_url: str, remote_model: str) -> None:
    spent: list[UsageRecord] = []
    router = llmaas.Router({
        "deployments": [
            {"model": "chat", "provider": "hf", "target": "smollm2-135m-instruct"},
            {"model": "chat-remote", "provider": "openai_compat", "base_url": remote_url, "target": remote_model,
             "api_key_env": "REMOTE_API_KEY", "input_price": 0.05, "output_price": 0.08},
        ],
        "fallbacks": {"chat": ["chat-remote"]},  # the local model failing: errors, timeouts, overload
        "context_window_fallbacks": {"chat": ["chat-remote"]},  # a prompt too long for it
    }, on_usage=spent.append)
    with llmaas.Client(provider=router) as client:
        short = client.chat.completions.create(model="chat", max_tokens=20,
                                               messages=[{"role": "user", "content": "Say hello in French."}])
        print("short prompt ->", short.model, ":", short.choices[0].message.content)
        report = "The quarterly report says revenue grew. " * 1500  # about 9,000 tokens
        long = client.chat.completions.create(model="chat", max_tokens=20, messages=[
            {"role": "user", "content": f"{report}\nSummarise the report in one sentence."}])
        print("long prompt  ->", long.model, ":", long.choices[0].message.content)
    for record in spent:
        print(f"  {record.deployment}: {record.prompt_tokens} + {record.completion_tokens} tokens, "
              f"${record.cost:.8f}, {record.latency:.2f} s")


if os.environ.get("REMOTE_BASE_URL"):
    run(os.environ["REMOTE_BASE_URL"], os.environ.get("REMOTE_MODEL", "llama-3.1-8b-instant"))
else:
    with StubServer() as stub:
        os.environ["REMOTE_API_KEY"] = "stand-in"
        run(stub.base_url, "stub-model")
