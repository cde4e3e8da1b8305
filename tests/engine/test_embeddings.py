"""Embeddings with the built-in all-MiniLM-L6-v2."""

import math

import pytest

import llmaas

from .conftest import EMBED


def cos(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_embeddings_are_meaningful_and_batched(client):
    out = client.embeddings.create(model=EMBED, input=["A cat sits on the mat.", "A kitten rests on a rug.",
                                                       "Quarterly revenue grew by ten percent."])
    vecs = [d.embedding for d in out.data]
    assert [d.index for d in out.data] == [0, 1, 2] and all(len(v) == 384 for v in vecs)
    assert cos(vecs[0], vecs[1]) > cos(vecs[0], vecs[2]) + 0.2
    assert out.usage.prompt_tokens == out.usage.total_tokens > 10


def test_base64_equals_float(client):
    f = client.embeddings.create(model=EMBED, input="hello").data[0].embedding
    b = client.embeddings.create(model=EMBED, input="hello", encoding_format="base64").data[0]
    assert isinstance(b.embedding, str)
    assert b.vector() == pytest.approx(f, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "exc", "param"),
    [
        ({"input": ""}, llmaas.BadRequestError, "input"),
        ({"input": []}, llmaas.BadRequestError, "input"),
        ({"input": "word " * 600}, llmaas.ContextLengthExceededError, "input"),
        ({"input": "x", "dimensions": 64}, llmaas.BadRequestError, "dimensions"),
        ({"input": "x", "model": "smollm2-135m-instruct"}, llmaas.BadRequestError, "model"),
        ({"input": "x", "model": "nope"}, llmaas.NotFoundError, "model"),
    ],
)
def test_embedding_errors(client, kwargs, exc, param):
    kwargs.setdefault("model", EMBED)
    with pytest.raises(exc) as info:
        client.embeddings.create(**kwargs)
    assert info.value.param == param


def test_dimensions_equal_to_native_is_fine(client):
    assert len(client.embeddings.create(model=EMBED, input="x", dimensions=384).data[0].embedding) == 384
