"""LoRA adapters applied per row: a batch mixing the base model and two adapters gives each row what the
adapter merged into its own copy of the weights gives, and the base rows what the base gives."""

import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

from llmaas.providers.huggingface.management.loading import builtin_sources, ensure_converted
from llmaas.providers.huggingface.model.adapters import AdapterCache, load_adapter
from llmaas.providers.huggingface.model.compact import CompactLM

from .conftest import CHAT


@pytest.fixture(scope="module")
def folder():
    return ensure_converted(builtin_sources()[CHAT], progress=False)


def _hf(folder):
    return AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, local_files_only=True)


def make_adapter(folder, out, seed, targets):
    torch.manual_seed(seed)
    model = get_peft_model(_hf(folder), LoraConfig(r=4, lora_alpha=8, target_modules=targets,
                                                   init_lora_weights=False))  # random A and B: a visible change
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.data *= 0.05
    model.save_pretrained(str(out))
    return out


def test_a_mixed_batch_matches_each_adapter_merged(folder, tmp_path):
    one = make_adapter(folder, tmp_path / "one", 1, ["q_proj", "k_proj", "v_proj", "o_proj"])
    two = make_adapter(folder, tmp_path / "two", 2, ["v_proj", "gate_proj", "down_proj"])
    prompts = [torch.tensor([1, 504, 3101, 314, 260, 2045]), torch.tensor([1, 9519, 28, 2135]),
               torch.tensor([1, 504, 3101])]

    def logits(model, adapters=None):
        model.allocate(4, 64)
        if adapters is not None:
            model.use_adapters(adapters)
        first = model.prefill(prompts, [0, 1, 2])
        nxt = model.decode(first.argmax(-1), torch.tensor([len(p) for p in prompts]))
        return first, nxt

    base = CompactLM(_hf(folder), torch.float32, 256)
    a1, a2 = load_adapter(one, base, "ft:one"), load_adapter(two, base, "ft:two")
    mixed_prefill, _ = logits(base, [a1, None, a2])
    for row, adapter in ((0, one), (2, two)):
        merged = CompactLM(PeftModel.from_pretrained(_hf(folder), str(adapter)).merge_and_unload(), torch.float32, 256)
        expect, _ = logits(merged)
        torch.testing.assert_close(mixed_prefill[row], expect[row], atol=2e-3, rtol=1e-3)
    plain, _ = logits(CompactLM(_hf(folder), torch.float32, 256))
    torch.testing.assert_close(mixed_prefill[1], plain[1], atol=1e-4, rtol=1e-4)
    assert not torch.allclose(mixed_prefill[0], plain[0], atol=1e-2)  # the adapter does change the answer
    # decode steps group rows the same way: all rows on one adapter, then none
    _, all_one = logits(base, [a1, a1, a1])
    merged = CompactLM(PeftModel.from_pretrained(_hf(folder), str(one)).merge_and_unload(), torch.float32, 256)
    _, expect = logits(merged)
    torch.testing.assert_close(all_one, expect, atol=2e-3, rtol=1e-3)


def test_the_cache_keeps_at_most_its_limit(tmp_path, folder):
    base = CompactLM(_hf(folder), torch.float32, 64)
    path = make_adapter(folder, tmp_path / "a", 3, ["q_proj"])
    cache = AdapterCache(2)
    loads = []

    def load(name):
        loads.append(name)
        return load_adapter(path, base, name)

    for name in ("x", "y", "x", "z", "y"):
        cache.get(name, path, lambda n=name: load(n))
    assert loads == ["x", "y", "z", "y"] and len(cache) == 2  # x stayed while used; y left for z, came back
    cache.forget("y")
    assert len(cache) == 1


def test_an_adapter_without_lora_weights_is_refused(tmp_path, folder):
    base = CompactLM(_hf(folder), torch.float32, 64)
    (tmp_path / "adapter_config.json").write_text('{"peft_type": "PREFIX_TUNING"}')
    with pytest.raises(ValueError, match="only LoRA"):
        load_adapter(tmp_path, base, "ft:x")


def test_adapters_run_on_the_dynamic_int8_kernel(folder, tmp_path):
    """bf16 with dynamic int8 matmuls keeps activations float32 between layers: the adapters' low-rank
    terms must meet them in prefill (many rows) and in decode steps over the weight-only limit."""
    one = make_adapter(folder, tmp_path / "one", 1, ["q_proj", "o_proj", "gate_proj", "down_proj"])
    model = CompactLM(_hf(folder), torch.bfloat16, 256)
    model.enable_int8_decode(4)
    assert model.enable_dynamic_int8(torch.arange(1, 200))
    adapter = load_adapter(one, model, "ft:one")
    prompts = [torch.tensor([1, 504, 3101, 314, 260, 2045])] * 6
    model.allocate(6, 64)
    rows = [adapter, None] * 3
    model.use_adapters(rows)
    first = model.prefill(prompts, list(range(6)))
    nxt = model.decode(first.argmax(-1), torch.full((6,), 6))
    assert model.kernel_for(6 * 6) == model.kernel_for(6) == "int8-dynamic"
    assert torch.isfinite(first).all() and torch.isfinite(nxt).all()
    assert not torch.allclose(first[0], first[1], atol=1e-2)  # the adapter row differs from the base row
    torch.testing.assert_close(first[1], first[3])  # base rows agree with each other


def test_scoring_a_prompt_with_an_adapter_matches_the_merged_model(folder, tmp_path):
    """What multiple-choice grading of a fine-tuned model reads: the prompt's log-probabilities under the
    adapter, in a pass of its own, equal the merged model's, and the engine's batch adapters are untouched."""
    path = make_adapter(folder, tmp_path / "s", 4, ["q_proj", "v_proj", "down_proj"])
    tokens = torch.tensor([1, 504, 3101, 314, 260, 2045, 9519, 28])
    base = CompactLM(_hf(folder), torch.float32, 256)
    adapter = load_adapter(path, base, "ft:s")
    scored, top_v, top_i = base.score(tokens, top=2, adapter=adapter)
    merged = CompactLM(PeftModel.from_pretrained(_hf(folder), str(path)).merge_and_unload(), torch.float32, 256)
    expect, expect_v, expect_i = merged.score(tokens, top=2)
    torch.testing.assert_close(scored, expect, atol=2e-3, rtol=1e-3)
    torch.testing.assert_close(top_v, expect_v, atol=2e-3, rtol=1e-3)
    assert torch.equal(top_i, expect_i)
    plain, _, _ = base.score(tokens)
    assert (plain - scored).abs().max() > 1e-2  # the adapter does change the scores
    assert base._lora is None  # the engine's per-batch state was not used
