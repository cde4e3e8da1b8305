import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


import shutil  # noqa: E402
import tempfile  # noqa: E402

import pytest  # noqa: E402


def link_tree(src, dst):
    """A copy of a folder of model files made of hard links where the filesystem allows (the files are
    written once and never changed in place), so each test home costs no disk for the 0.5 GB model."""
    def link(a, b):
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)
    shutil.copytree(src, dst, copy_function=link)


def pytest_configure(config):
    """The whole run uses a home of its own (removed at the end), so tests, examples and the servers they
    start never write into the user's ``~/.cache/llmaas``. The built-in model is converted there once (a
    cache keyed by the file's content, reused by later runs) and linked into the run's home."""
    if os.environ.get("LLMAAS_TEST_HOME_KEEP"):
        return
    from llmaas.providers.huggingface.management.loading import SMOLLM2, builtin_sources, ensure_converted

    source = builtin_sources().get(SMOLLM2)
    converted = ensure_converted(source, progress=False) if source is not None else None
    home = tempfile.mkdtemp(prefix="llmaas-test-")
    config._llmaas_home = home
    os.environ["LLMAAS_HOME"] = home
    if converted is not None:
        link_tree(converted, os.path.join(home, "models", converted.name))


def pytest_unconfigure(config):
    home = getattr(config, "_llmaas_home", None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A folder of models to register: the built-in chat model as a Hugging Face folder ("smol"), and a
    tiny randomly initialised GPT-2 ("tiny-gpt2", an architecture the compact engine does not implement)
    with SmolLM2's tokenizer and chat template. Made offline, once per session."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    from llmaas.providers.huggingface.management.loading import SMOLLM2, builtin_sources, ensure_converted

    root = tmp_path_factory.mktemp("model-dir")
    smol = ensure_converted(builtin_sources()[SMOLLM2], progress=False)
    link_tree(smol, root / "smol")
    tokenizer = AutoTokenizer.from_pretrained(str(smol))
    config = GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=len(tokenizer), n_positions=256,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(str(root / "tiny-gpt2"))
    tokenizer.save_pretrained(str(root / "tiny-gpt2"))
    return root


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL cluster for the run (see tests/postgres.py); ``new_database()`` gives each
    test a database of its own."""
    from .postgres import Cluster

    cluster = Cluster()
    yield cluster
    cluster.close()
