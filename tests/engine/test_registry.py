"""The model registry in process: register a folder (compact engine or the transformers slow path), alias,
load and unload under a memory budget, delete; every bad input a clear error with the registry unchanged."""

import asyncio

import gguf
import pytest

import llmaas
from llmaas.providers.huggingface.model import compact as compact_model

from .conftest import CHAT


def make_client(home, **options):
    return llmaas.Client(provider="hf", provider_options={"hf": {"home": str(home), "progress": False,
                                                                 "kv_cache_gb": 0.25, **options}})


def ids(client):
    return [m.id for m in client.models.list()]


def test_register_alias_chat_and_delete(tmp_path, model_dir):
    with make_client(tmp_path) as client:
        smol = client.models.register("smol", path=str(model_dir / "smol"))
        assert (smol.kind, smol.engine, smol.architecture) == ("chat", "compact", "LlamaForCausalLM")
        assert "llmaas engine" in smol.note and smol.parameters > 1e8
        tiny = client.models.register("tiny", path=str(model_dir / "tiny-gpt2"))
        assert (tiny.engine, tiny.architecture) == ("transformers", "GPT2LMHeadModel") and "slow path" in tiny.note
        alias = client.models.alias("house-model", model="smol")
        assert alias.target == "smol" and alias.architecture == "LlamaForCausalLM"
        assert client.models.alias("house-alias", model="house-model").target == "smol"  # names the model itself
        assert {"smol", "tiny", "house-model", "house-alias", CHAT} <= set(ids(client))

        answer = client.chat.completions.create(model="house-model", messages=[{"role": "user", "content": "2+2?"}],
                                                max_tokens=8, temperature=0)
        assert answer.choices[0].message.content
        slow = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi"}],
                                              max_tokens=4, ignore_eos=True)
        assert slow.usage.completion_tokens == 4
        engines = {m.id: m.engine for m in client.models.ps()}
        assert engines == {"house-model": "compact", "tiny": "transformers"}
        assert client.models.retrieve("tiny").loaded is True

        assert client.models.unload("tiny").unloaded is True
        assert client.models.unload("tiny").unloaded is False
        assert client.models.delete("house-alias").deleted
        assert client.models.delete("smol").deleted  # its remaining alias goes with it
        assert {"smol", "house-model", "house-alias"}.isdisjoint(ids(client))
        with pytest.raises(llmaas.NotFoundError):
            client.chat.completions.create(model="house-model", messages=[{"role": "user", "content": "hi"}])
    with make_client(tmp_path) as again:  # the registry is the store's: a new client finds what is left
        assert "tiny" in ids(again) and "smol" not in ids(again)


def test_the_slow_path_is_transformers_greedy(tmp_path, model_dir, monkeypatch):
    """A model served on the transformers path answers as transformers generate does, alone or batched."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    monkeypatch.setattr(compact_model, "SUPPORTED", frozenset())  # as if the compact engine did not know llama
    folder = str(model_dir / "smol")
    prompts = ["The capital of France is", "Water boils at a temperature of"]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    hf = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    expected = []
    for p in prompts:
        ids_in = tokenizer(p, return_tensors="pt").input_ids
        out = hf.generate(ids_in, max_new_tokens=10, do_sample=False)
        expected.append(tokenizer.decode(out[0, ids_in.shape[1]:]))

    async def run():
        async with llmaas.AsyncClient(provider="hf", provider_options={"hf": {
                "home": str(tmp_path), "progress": False, "dtype": "float32", "kv_cache_gb": 0.25}}) as client:
            await client.models.register("smol-slow", path=folder)
            texts = await asyncio.gather(*(client.completions.create(model="smol-slow", prompt=p, max_tokens=10,
                                                                     temperature=0) for p in prompts))
            return [t.choices[0].text for t in texts], await client.models.ps()

    texts, loaded = asyncio.run(run())
    assert texts == expected
    assert loaded[0].engine == "transformers"


def write_gguf(path, arch):
    writer = gguf.GGUFWriter(str(path), arch)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_bad_registrations_are_refused_and_change_nothing(tmp_path, model_dir):
    (tmp_path / "empty").mkdir()
    (tmp_path / "no-weights").mkdir()
    (tmp_path / "no-weights" / "config.json").write_text('{"model_type": "llama"}')
    (tmp_path / "bad-config").mkdir()
    (tmp_path / "bad-config" / "config.json").write_text("not json")
    (tmp_path / "fake.gguf").write_bytes(b"PK\x03\x04 not a gguf")
    (tmp_path / "notes.txt").write_text("hello")
    write_gguf(tmp_path / "bert.gguf", "bert")
    with make_client(tmp_path / "home") as client:
        client.models.register("taken", path=str(model_dir / "tiny-gpt2"))
        before = [m.to_dict() for m in client.models.list()]
        cases = [
            ("bad name!", model_dir / "tiny-gpt2", llmaas.BadRequestError, "invalid_model_name"),
            ("x", tmp_path / "missing", llmaas.BadRequestError, "invalid_model_path"),
            ("x", tmp_path / "empty", llmaas.BadRequestError, "not_a_model"),
            ("x", tmp_path / "no-weights", llmaas.BadRequestError, "not_a_model"),
            ("x", tmp_path / "bad-config", llmaas.BadRequestError, "not_a_model"),
            ("x", tmp_path / "fake.gguf", llmaas.BadRequestError, "not_a_model"),
            ("x", tmp_path / "notes.txt", llmaas.BadRequestError, "not_a_model"),
            ("x", tmp_path / "bert.gguf", llmaas.BadRequestError, "unsupported_architecture"),
            ("taken", model_dir / "smol", llmaas.ConflictError, "model_exists"),
            (CHAT, model_dir / "smol", llmaas.ConflictError, "model_exists"),
        ]
        for name, path, error, code in cases:
            with pytest.raises(error) as caught:
                client.models.register(name, path=str(path))
            assert caught.value.code == code, (name, path, caught.value)
        with pytest.raises(llmaas.NotFoundError):
            client.models.alias("other", model="no-such-model")
        with pytest.raises(llmaas.ConflictError):
            client.models.alias("taken", model=CHAT)
        with pytest.raises(llmaas.PermissionDeniedError) as builtin:
            client.models.delete(CHAT)
        assert builtin.value.code == "model_not_deletable"
        with pytest.raises(llmaas.NotFoundError):
            client.models.delete("no-such-model")
        assert [m.to_dict() for m in client.models.list()] == before
    with make_client(tmp_path / "home", model_dirs=[str(model_dir / "smol")]) as fenced:
        with pytest.raises(llmaas.PermissionDeniedError) as outside:
            fenced.models.register("y", path=str(model_dir / "smol" / ".." / "tiny-gpt2"))
        assert outside.value.code == "path_not_allowed"


def test_the_gguf_architecture_is_named(tmp_path):
    write_gguf(tmp_path / "bert.gguf", "bert")
    with make_client(tmp_path / "home") as client, pytest.raises(llmaas.BadRequestError) as caught:
        client.models.register("x", path=str(tmp_path / "bert.gguf"))
    assert "'bert'" in caught.value.message


def test_a_base_with_fine_tuned_models_needs_force(tmp_path, model_dir):
    with make_client(tmp_path) as client:
        client.models.register("base", path=str(model_dir / "tiny-gpt2"))
        store = client.provider("hf").files.store()
        with store.transaction() as db:  # a model fine-tuned from it, as a finished job records one
            db.execute("INSERT INTO models (id, owner, base, path, created_at) VALUES (?, NULL, 'base', ?, 0)",
                       ("ft:base:mine:ftjob-1", str(tmp_path / "adapter")))
        with pytest.raises(llmaas.ConflictError) as caught:
            client.models.delete("base")
        assert caught.value.code == "model_has_adapters" and "ft:base:mine:ftjob-1" in caught.value.message
        assert "base" in ids(client)
        assert client.models.delete("base", force=True).deleted
        assert store.query("SELECT COUNT(*) FROM models")[0][0] == 0 and "base" not in ids(client)


def test_a_model_serving_requests_is_not_deleted_or_unloaded(tmp_path, model_dir):
    with make_client(tmp_path) as client:
        client.models.register("busy", path=str(model_dir / "smol"))
        stream = client.chat.completions.create(model="busy", messages=[{"role": "user", "content": "hi"}],
                                                max_tokens=1000, ignore_eos=True, stream=True)
        chunks = iter(stream)
        while not next(chunks).choices[0].delta.content:  # generating now
            pass
        for verb in (client.models.delete, client.models.unload):
            with pytest.raises(llmaas.ConflictError) as caught:
                verb("busy")
            assert caught.value.code == "model_in_use"
        stream.close()
        assert "busy" in ids(client)


def test_the_memory_budget_unloads_idle_models_and_refuses_what_cannot_fit(tmp_path, model_dir):
    with make_client(tmp_path, memory_budget_gb=0.05) as small:
        small.models.register("smol", path=str(model_dir / "smol"))
        with pytest.raises(llmaas.BadRequestError) as caught:
            small.models.load("smol")
        assert caught.value.code == "model_exceeds_memory_budget" and "GiB" in caught.value.message
        assert small.models.ps() == []
    with make_client(tmp_path, memory_budget_gb=1.2, max_engines=4) as client:  # room for one chat model
        first = client.models.load(CHAT)
        assert first.id == CHAT and first.memory_bytes > 1e8
        second = client.models.load("smol")
        assert [m.id for m in client.models.ps()] == ["smol"] and second.engine == "compact"
        answer = client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "hi"}], max_tokens=2)
        assert answer.choices[0].message.content is not None  # loaded again on first use, "smol" unloaded
        assert [m.id for m in client.models.ps()] == [CHAT]
