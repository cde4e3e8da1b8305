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
