import pytest

import llmaas

CHAT = "smollm2-135m-instruct"
EMBED = "all-minilm-l6-v2"


@pytest.fixture(scope="session")
def client():
    """One client (and one engine) for the whole session: the model loads once."""
    c = llmaas.Client(provider="hf", provider_options={"hf": {"progress": False}})
    yield c
    c.close()


@pytest.fixture(scope="session")
def hf(client):
    return client.provider("hf")


def engine_model(**settings):
    """The model and tokenizer of a fresh engine with these settings, the engine stopped (it lets go of the
    model, which the caller then drives on its own thread)."""
    from llmaas.providers.huggingface import HuggingFaceProvider

    engine = HuggingFaceProvider(progress=False, kv_cache_gb=0.25, **settings).engine(CHAT)
    engine.wait_ready()
    model, tok = engine.model, engine.tokenizer
    engine.shutdown()
    return model, tok
