"""Hostile model files and careless deletes, in process (items 2, 3, 5 and 9 of the second hardening round):
every crafted file is a 4xx that names it, quickly, with nothing stored; a model whose files break after it
was registered is 503 for its own requests and never breaks the list; a base with jobs needs force, and force
removes what depended on it, blobs included; an adapter is served only on the weights it was trained on."""

import json
import os
import shutil
import struct

import pytest

import llmaas
from llmaas.store.jobs.records import create_job, get_job, register_model

from .conftest import CHAT
from .test_registry import ids, make_client


def safetensors(path, header, data=b""):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def model_folder(root, name, source):
    """A copy of the tiny GPT-2 folder, to spoil one file of."""
    folder = root / name
    shutil.copytree(source, folder)
    return folder


def hostile_folders(root, tiny):
    """Each way a model folder was found to break a server, made on disk."""
    made = {}
    f = model_folder(root, "header-2-62", tiny)
    with open(f / "model.safetensors", "r+b") as out:
        out.write(struct.pack("<Q", 2**62))
    made["header-2-62"] = f
    f = model_folder(root, "sparse-weights", tiny)
    os.truncate(f / "model.safetensors", 50 * 2**30)  # 50 GB of nothing: the header reads as length 0... or junk
    with open(f / "model.safetensors", "r+b") as out:
        out.write(b"\0" * 8)
    made["sparse-weights"] = f
    f = model_folder(root, "sparse-config", tiny)
    os.truncate(f / "config.json", 50 * 2**30)
    made["sparse-config"] = f
    f = model_folder(root, "deep-config", tiny)
    (f / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    made["deep-config"] = f
    f = model_folder(root, "overflowing-shape", tiny)
    safetensors(f / "model.safetensors", {"w": {"dtype": "F32", "shape": [2**31, 2**31], "data_offsets": [0, 16]}},
                b"\0" * 16)
    made["overflowing-shape"] = f
    f = model_folder(root, "fifo-weights", tiny)
    (f / "model.safetensors").unlink()
    os.mkfifo(f / "model.safetensors")
    made["fifo-weights"] = f
    f = model_folder(root, "fifo-config", tiny)
    (f / "config.json").unlink()
    os.mkfifo(f / "config.json")
    made["fifo-config"] = f
    return made


def crafted_gguf(path, strings):
    """A GGUF file whose one metadata array declares ``strings`` entries (what took a parser minutes)."""
    body = struct.pack("<4sIQQ", b"GGUF", 3, 0, 2)
    key = b"general.architecture"
    body += struct.pack("<Q", len(key)) + key + struct.pack("<IQ", 8, 5) + b"llama"
    key = b"tokenizer.ggml.tokens"
    body += struct.pack("<Q", len(key)) + key + struct.pack("<IIQ", 9, 8, strings)
    body += struct.pack("<Q", 1) + b"a"  # one entry of the many declared: the rest is missing
    path.write_bytes(body)
    return path


def dense_gguf(path, strings=600_000):
    """A GGUF that holds every item it declares: 600,000 one-letter tokens in 5 MB (a parser took 12 s on it,
    holding the interpreter; a real model file holds about one item per kilobyte)."""
    body = struct.pack("<4sIQQ", b"GGUF", 3, 0, 2)
    key = b"general.architecture"
    body += struct.pack("<Q", len(key)) + key + struct.pack("<IQ", 8, 5) + b"llama"
    key = b"tokenizer.ggml.tokens"
    body += struct.pack("<Q", len(key)) + key + struct.pack("<IIQ", 9, 8, strings)
    path.write_bytes(body + (struct.pack("<Q", 1) + b"a") * strings)
    return path


def test_every_hostile_model_file_is_a_4xx_and_nothing_is_stored(tmp_path, model_dir):
    root = tmp_path / "models"
    root.mkdir()
    made = hostile_folders(root, model_dir / "tiny-gpt2")
    made["crafted.gguf"] = crafted_gguf(root / "crafted.gguf", 10**9)
    made["huge-count.gguf"] = crafted_gguf(root / "huge-count.gguf", 2**62)
    made["dense.gguf"] = dense_gguf(root / "dense.gguf")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.safetensors").write_bytes(b"x")
    f = model_folder(root, "link-out", model_dir / "tiny-gpt2")
    os.symlink(outside / "secret.safetensors", f / "extra.safetensors")
    made["link-out"] = f
    with make_client(tmp_path / "home", model_dirs=[str(root)]) as client:
        before = ids(client)
        for name, path in made.items():
            with pytest.raises(llmaas.BadRequestError) as caught:
                client.models.register("x", path=str(path))
            assert caught.value.status_code == 400, (name, caught.value)
            assert str(path.name) in caught.value.message or name in caught.value.message, (name, caught.value)
        assert ids(client) == before  # nothing was stored
        assert client.provider("hf").files.store().query("SELECT COUNT(*) FROM registered_models")[0][0] == 0


def test_a_model_broken_after_registration_breaks_only_itself(tmp_path, model_dir):
    folder = model_folder(tmp_path, "fragile", model_dir / "tiny-gpt2")
    with make_client(tmp_path / "home") as client:
        client.models.register("fragile", path=str(folder))
        with open(folder / "model.safetensors", "r+b") as out:
            out.write(struct.pack("<Q", 2**62))  # the header now claims more than the file holds
        listed = {m.id: m for m in client.models.list()}  # no 500: the list is everyone's
        assert CHAT in listed and "unavailable" in (listed["fragile"].note or "")
        with pytest.raises(llmaas.APIStatusError) as caught:
            client.models.retrieve("fragile")
        assert caught.value.status_code == 503 and caught.value.code == "model_unavailable"
        with pytest.raises(llmaas.APIStatusError) as caught:
            client.chat.completions.create(model="fragile", messages=[{"role": "user", "content": "hi"}], max_tokens=2)
        assert caught.value.status_code == 503 and caught.value.code == "model_unavailable"
        (folder / "model.safetensors").unlink()
        os.mkfifo(folder / "model.safetensors")  # a read of it would block forever
        assert "fragile" in ids(client)


def test_a_base_with_queued_jobs_needs_force_and_force_removes_the_adapters(tmp_path, model_dir):
    with make_client(tmp_path) as client:
        client.models.register("base", path=str(model_dir / "tiny-gpt2"))
        store = client.provider("hf").files.store()
        queued = create_job(store, None, {"model": "base", "training_file": "file-x"})
        with pytest.raises(llmaas.ConflictError) as caught:
            client.models.delete("base")
        assert caught.value.code == "model_has_jobs" and queued["id"] in caught.value.message
        adapter = store.blobs / "adapters" / "ftjob-done" / "checkpoint-3"
        adapter.mkdir(parents=True)
        (adapter / "adapter_model.safetensors").write_bytes(b"weights")
        register_model(store, "ft:base:mine:ftjob-done:ckpt-step-3", None, "base", str(adapter))
        assert client.models.delete("base", force=True).deleted
        assert get_job(store, queued["id"])["status"] == "cancelled"
        assert not (store.blobs / "adapters" / "ftjob-done").exists()
        assert store.query("SELECT COUNT(*) FROM models")[0][0] == 0 and "base" not in ids(client)


def test_an_adapter_is_served_only_on_the_weights_it_was_trained_on(tmp_path, model_dir):
    with make_client(tmp_path) as client:
        client.models.register("base", path=str(model_dir / "tiny-gpt2"))
        provider = client.provider("hf")
        store = provider.files.store()
        trained_on = provider.base_fingerprint("base")
        assert trained_on and trained_on == provider.base_fingerprint("base")  # stable
        register_model(store, "ft:base:mine:ftjob-1", None, "base", str(tmp_path / "adapter"), trained_on)
        provider.catalog.fine_tuned("ft:base:mine:ftjob-1")  # the same weights: served
        client.models.delete("base", force=True)
        client.models.register("base", path=str(model_dir / "smol"))  # other weights under the old name
        register_model(store, "ft:base:mine:ftjob-1", None, "base", str(tmp_path / "adapter"), trained_on)
        with pytest.raises(llmaas.ConflictError) as caught:
            client.chat.completions.create(model="ft:base:mine:ftjob-1", messages=[{"role": "user", "content": "hi"}],
                                           max_tokens=2)
        assert caught.value.code == "base_model_changed"


def test_a_gguf_is_converted_in_a_child_process(tmp_path, monkeypatch):
    """Registration converts a GGUF in a child process (a crafted file cannot hold this one's interpreter);
    the result serves as any model does."""
    import subprocess

    from llmaas.providers.huggingface.management.loading import builtin_sources

    source = builtin_sources()[CHAT]
    copy = tmp_path / "models" / "copy.gguf"
    copy.parent.mkdir()
    os.link(source.path / source.gguf_file, copy)  # another file name and place: a conversion of its own
    children = []
    real_run = subprocess.run

    def run(args, **kwargs):
        children.append(args)
        return real_run(args, **kwargs)

    monkeypatch.setattr(subprocess, "run", run)
    with make_client(tmp_path / "home", model_dirs=[str(copy.parent)]) as client:
        model = client.models.register("copy", path=str(copy))
        assert model.architecture == "LlamaForCausalLM"
        assert any("llmaas.providers.huggingface.management.convert" in a for args in children for a in args)
        reply = client.chat.completions.create(model="copy", messages=[{"role": "user", "content": "Hi"}],
                                               max_tokens=2)
        assert reply.usage.completion_tokens >= 1
