import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A folder of models to register: the built-in chat model as a Hugging Face folder ("smol"), and a
    tiny randomly initialised GPT-2 ("tiny-gpt2", an architecture the compact engine does not implement)
    with SmolLM2's tokenizer and chat template. Made offline, once per session."""
    import shutil

    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    from llmaas.providers.huggingface.loading import SMOLLM2, builtin_sources, ensure_converted

    root = tmp_path_factory.mktemp("model-dir")
    smol = ensure_converted(builtin_sources()[SMOLLM2], progress=False)
    shutil.copytree(smol, root / "smol")
    tokenizer = AutoTokenizer.from_pretrained(str(smol))
    config = GPT2Config(n_layer=2, n_embd=64, n_head=2, vocab_size=len(tokenizer), n_positions=256,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(str(root / "tiny-gpt2"))
    tokenizer.save_pretrained(str(root / "tiny-gpt2"))
    return root
