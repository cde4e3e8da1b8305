"""The boundary with transformers: its loaders are untyped, so what comes back is typed here, once.

``Tokenizer`` is the part of a Hugging Face tokenizer the provider uses; ``load_tokenizer`` and
``load_causal_lm`` are the only calls into ``from_pretrained``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast

from llmaas._json import is_object


class Tokenizer(Protocol):
    eos_token_id: int | None
    pad_token_id: int | None
    chat_template: str | None

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]: ...

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None) -> str: ...

    # chat messages as dicts (JSON-shaped); ``return_dict=False`` with ``tokenize=True`` gives token ids
    def apply_chat_template(self, conversation: list[dict[str, Any]], **kwargs: Any) -> Any: ...

    def convert_tokens_to_ids(self, tokens: str) -> int: ...

    def save_pretrained(self, folder: str) -> Any: ...

    def __len__(self) -> int: ...


def load_tokenizer(folder: str, **kwargs: Any) -> Tokenizer:
    from transformers import AutoTokenizer

    loaded: Any = AutoTokenizer.from_pretrained(folder, **kwargs)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return cast(Tokenizer, loaded)


def load_causal_lm(folder: str, **kwargs: Any) -> Any:
    """A transformers causal LM (``PreTrainedModel``; its config fields and submodules are untyped)."""
    from transformers import AutoModelForCausalLM

    loaded: Any = AutoModelForCausalLM.from_pretrained(folder, **kwargs)  # pyright: ignore[reportUnknownMemberType]
    return loaded


def chat_ids(tokenizer: Tokenizer, messages: list[dict[str, Any]], **kwargs: Any) -> list[int]:
    """The chat template rendered and tokenized: token ids, whichever shape this transformers version gives
    them in (a list, or a mapping holding ``input_ids``)."""
    rendered: Any = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False, **kwargs)
    if is_object(rendered) or hasattr(rendered, "input_ids"):
        rendered = rendered["input_ids"]
    return [int(i) for i in rendered]
