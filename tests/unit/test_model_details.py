"""What a model's config.json says is shown only where it has the type ``Model`` declares: a config file is
not to be trusted (the fuzzer registered one whose max_position_embeddings was a list, and listing it was a 500)."""

import json

import pytest

from llmaas.providers.huggingface.management.details import describe
from llmaas.types.models import Model


@pytest.mark.parametrize("config", [
    {"model_type": "llama", "max_position_embeddings": [], "torch_dtype": 3},
    {"model_type": ["llama"], "max_position_embeddings": True, "dtype": {"x": 1}},
    {"model_type": 7, "architectures": [], "max_position_embeddings": -4},
    {"model_type": "llama", "max_position_embeddings": 2**70, "torch_dtype": ""},
])
def test_a_config_of_wrong_types_describes_a_valid_model(tmp_path, config):
    (tmp_path / "config.json").write_text(json.dumps(config))
    out = describe("chat", tmp_path, tmp_path, loaded=False)
    model = Model(id="m", created=0, owned_by="me", **out)
    assert model.context_length is None and model.dtype is None


def test_a_good_config_is_described_in_full(tmp_path):
    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "max_position_embeddings": 8192,
              "torch_dtype": "bfloat16"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    out = describe("chat", tmp_path, tmp_path, loaded=False)
    assert (out["architecture"], out["context_length"], out["dtype"], out["engine"]) == (
        "LlamaForCausalLM", 8192, "bfloat16", "compact")
