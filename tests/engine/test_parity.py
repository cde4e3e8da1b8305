"""In float32 the engine's greedy output equals transformers' greedy ``generate``, token for token."""

import asyncio

import pytest
import torch

from llmaas.providers.huggingface import HuggingFaceProvider
from llmaas.providers.huggingface.engine.sampling import SamplingParams
from llmaas.providers.huggingface.management.loading import ensure_converted, resolve_source

from .conftest import CHAT

PROMPTS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name three primary colors."}],
    [{"role": "user", "content": "Write a haiku about the sea."}],
]


def test_float32_greedy_matches_transformers_generate():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = ensure_converted(resolve_source(CHAT), progress=False)
    tok = AutoTokenizer.from_pretrained(str(folder))
    ref_model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    provider = HuggingFaceProvider(dtype="float32", threads=1, progress=False)

    async def run():
        engine = provider.engine(CHAT)
        await asyncio.to_thread(engine.wait_ready)
        outs = []
        for messages in PROMPTS:
            ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
            params = SamplingParams(max_tokens=48, temperature=0.0, stop_token_ids=engine.stop_ids)
            got = [ev.token async for ev in engine.generate(list(ids), params) if getattr(ev, "token", None) is not None]
            outs.append((ids, got))
        # the same prompts at once, batched, must give the same tokens as one at a time
        streams = [engine.generate(list(ids), SamplingParams(max_tokens=48, temperature=0.0,
                                   stop_token_ids=engine.stop_ids)) for ids, _ in outs]

        async def collect(s):
            return [ev.token async for ev in s if getattr(ev, "token", None) is not None]

        batched = await asyncio.gather(*(collect(s) for s in streams))
        await provider.aclose()
        return outs, batched

    outs, batched = asyncio.run(run())
    for (ids, got), together in zip(outs, batched, strict=True):
        ref = ref_model.generate(torch.tensor([ids]), max_new_tokens=48, do_sample=False)[0, len(ids):].tolist()
        stops = set(provider_stop_ids(tok, ref_model))
        ref = ref[: next((i for i, t in enumerate(ref) if t in stops), len(ref))]
        assert got == ref, f"engine {tok.decode(got)!r} != transformers {tok.decode(ref)!r}"
        assert together == got
        assert len(got) > 3


def provider_stop_ids(tok, model):
    ids = {tok.eos_token_id, model.config.eos_token_id}
    gen = model.generation_config.eos_token_id
    ids |= set(gen if isinstance(gen, list) else [gen])
    return {i for i in ids if i is not None}


@pytest.mark.parametrize(("env", "given", "dtype"), [("float32", None, torch.float32),
                                                     ("float32", "bfloat16", torch.bfloat16)])
def test_dtype_setting_reaches_the_engine(env, given, dtype, monkeypatch):
    """The variable, or an argument that wins over it, decides the dtype of the weights the engine loads."""
    monkeypatch.setenv("LLMAAS_DTYPE", env)
    provider = HuggingFaceProvider(progress=False, kv_cache_gb=0.05, dtype=given)
    engine = provider.engine(CHAT)
    try:
        engine.wait_ready()
        model = engine.model
        assert model is not None and model.dtype == dtype
        assert model.embed.dtype == dtype and model.k_cache.dtype == dtype
    finally:
        asyncio.run(provider.aclose())
