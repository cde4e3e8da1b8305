"""LoRA fine-tuning of a local causal LM with peft.

Examples become token ids with labels on what the assistant says (or on the completion). A step takes
``batch_size`` examples, as OpenAI counts them, and packs them into as few rows as fit ``pack_len`` tokens:
each example keeps its own positions and attends only to itself (a block-diagonal causal mask), so packing
changes no loss, it only drops the padding a plain loop computes. Where the CPU has fast bf16 the frozen base
weights are bf16 while the adapter and its optimizer stay fp32. At the end of every epoch the adapter and
the optimizer are saved as a checkpoint that a later run resumes from.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from llmaas.providers.huggingface.model.hf import Tokenizer, chat_ids, load_causal_lm, load_tokenizer

IGNORE = -100
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
Example = tuple[list[int], list[int]]


@dataclass
class TrainingConfig:
    epochs: int = 3
    batch_size: int = 4
    learning_rate: float = 5e-4  # "auto" (measured: bench/fine_tune_quality.py); the job's multiplier scales it
    rank: int = 8
    alpha: int = 16
    targets: tuple[str, ...] = DEFAULT_TARGETS
    max_len: int = 8192  # an example longer than this (or than the model's context) fails the job
    pack_len: int = 1024  # a packed row holds examples up to this many tokens (a longer example has its own row)
    seed: int = 0
    threads: int = 1
    bf16: bool | None = None  # None: where the CPU has fast bf16
    packing: bool = True


@dataclass
class Step:
    """What the loop reports after each optimizer step."""

    step: int
    total: int
    epoch: int
    loss: float
    tokens_per_s: float
    tokens: int
    valid_loss: float | None = None


@dataclass
class Checkpoint:
    """An adapter saved at the end of an epoch (with what resuming from it needs)."""

    path: Path
    epoch: int
    step: int
    train_loss: float
    valid_loss: float | None


def _chat_example(tok: Tokenizer, messages: list[dict[str, Any]], max_len: int) -> Example:
    """Token ids of a whole conversation, and labels that keep only the assistant's turns (weight 1): the
    template rendered once and tokenized once, each assistant reply found in the text in order (time linear
    in the conversation). A tokenizer without offsets, or a reply the template changes, takes the slower
    way (``_chat_example_by_prefix``), which gives the same ids and labels."""
    plain = [{k: v for k, v in m.items() if k in ("role", "content")} for m in messages]
    spans = _learnt_spans(tok, messages, plain)
    if spans is None:
        return _chat_example_by_prefix(tok, messages, max_len)
    text, learnt = spans
    encoded: Any = cast(Any, tok)(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = [int(i) for i in encoded["input_ids"]]
    labels = [IGNORE] * len(ids)
    span = 0
    for n, (start, _end) in enumerate(encoded["offset_mapping"]):
        while span < len(learnt) and start >= learnt[span][1]:
            span += 1
        if span < len(learnt) and learnt[span][0] <= start:
            labels[n] = ids[n]
    return ids[:max_len], labels[:max_len]


def _turn_end(tok: Tokenizer) -> str | None:
    """What the template writes after an assistant reply (``<|im_end|>\n`` in ChatML), found once."""
    mark = "\u2063reply\u2063"
    text: Any = tok.apply_chat_template([{"role": "user", "content": "q"}, {"role": "assistant", "content": mark}],
                                        tokenize=False)
    return str(text).split(mark, 1)[1] if isinstance(text, str) and mark in text else None


def _learnt_spans(tok: Tokenizer, messages: list[dict[str, Any]],
                  plain: list[dict[str, Any]]) -> tuple[str, list[tuple[int, int]]] | None:
    """The rendered conversation and the character spans to learn: each weighted assistant reply and the
    end of its turn. None when they cannot be found exactly."""
    if not getattr(tok, "is_fast", False) or not all(isinstance(m.get("content"), str) and m["content"]
                                                     for m in plain):
        return None
    text: Any = tok.apply_chat_template(plain, tokenize=False)
    end = _turn_end(tok)
    if not isinstance(text, str) or end is None:
        return None
    spans: list[tuple[int, int]] = []
    cursor = 0
    for message, shown in zip(messages, plain, strict=True):
        at = text.find(shown["content"], cursor)
        if at < 0:
            return None
        cursor = at + len(shown["content"])
        if message.get("role") == "assistant" and message.get("weight", 1) == 1:
            if not text.startswith(end, cursor):
                return None
            spans.append((at, cursor + len(end)))
    return text, spans


def _chat_example_by_prefix(tok: Tokenizer, messages: list[dict[str, Any]], max_len: int) -> Example:
    """The same, by rendering every prefix of the conversation (time quadratic in its messages)."""
    plain = [{k: v for k, v in m.items() if k in ("role", "content")} for m in messages]
    ids: list[int] = []
    labels: list[int] = []
    for i, message in enumerate(messages):
        new = chat_ids(tok, plain[: i + 1])[len(ids):]
        if message.get("role") == "assistant" and message.get("weight", 1) == 1:
            # the assistant's header is context, the reply after it is what is learnt
            header = chat_ids(tok, plain[:i], add_generation_prompt=True) if i else []
            skip = max(0, len(header) - len(ids))
            labels += [IGNORE] * skip + new[skip:]
        else:
            labels += [IGNORE] * len(new)
        ids += new
    return ids[:max_len], labels[:max_len]


def _prompt_example(tok: Tokenizer, prompt: str, completion: str, max_len: int) -> Example:
    p = tok.encode(prompt, add_special_tokens=False)
    c = tok.encode(completion, add_special_tokens=False) + ([tok.eos_token_id] if tok.eos_token_id is not None else [])
    return (p + c)[:max_len], ([IGNORE] * len(p) + c)[:max_len]


class ExampleTooLong(ValueError):
    """An example that does not fit the model's context (the job fails, naming its line)."""


class Stopped(Exception):
    """The job was cancelled while its examples were being tokenized."""


def encode(tok: Tokenizer, rows: list[dict[str, Any]], max_len: int, what: str = "training file",
           stop: Callable[[], bool] | None = None) -> list[Example]:
    """Every row as (ids, labels); ``stop`` is asked about twice a second and ends the work (``Stopped``)."""
    out: list[Example] = []
    asked = time.monotonic()
    for line, row in enumerate(rows, 1):
        if stop is not None and time.monotonic() - asked > 0.5:
            asked = time.monotonic()
            if stop():
                raise Stopped
        if "messages" in row:
            ids, labels = _chat_example(tok, row["messages"], 1 << 30)
        else:
            ids, labels = _prompt_example(tok, row["prompt"], row["completion"], 1 << 30)
        if len(ids) > max_len:
            raise ExampleTooLong(f"{what} line {line}: the example is {len(ids)} tokens, longer than the "
                                 f"model's context of {max_len} tokens")
        out.append((ids, labels))
    return [(ids, labels) for ids, labels in out if any(label != IGNORE for label in labels)]


def padded_batch(examples: list[Example], pad: int) -> dict[str, Any]:
    """One row per example, right-padded: what a plain training loop feeds the model."""
    import torch

    width = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), width), pad, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, (i, lab) in enumerate(examples):
        ids[row, : len(i)] = torch.tensor(i)
        labels[row, : len(lab)] = torch.tensor(lab)
        mask[row, : len(i)] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def pack_rows(examples: list[Example], pack_len: int) -> list[list[Example]]:
    """Examples grouped into rows of at most ``pack_len`` tokens, longest first into the first row they fit
    (first-fit decreasing); an example longer than ``pack_len`` has a row of its own."""
    rows: list[list[Example]] = []
    room: list[int] = []
    for example in sorted(examples, key=lambda e: -len(e[0])):
        n = len(example[0])
        for r, free in enumerate(room):
            if n <= free:
                rows[r].append(example)
                room[r] -= n
                break
        else:
            rows.append([example])
            room.append(pack_len - n)
    return rows


def packed_batch(examples: list[Example], pad: int, pack_len: int) -> dict[str, Any]:
    """The examples packed into rows; each keeps its own positions and sees only itself (and what came
    before it in itself), so the loss equals the padded batch's."""
    import torch

    rows = pack_rows(examples, pack_len)
    width = max(sum(len(e[0]) for e in row) for row in rows)
    n = len(rows)
    ids = torch.full((n, width), pad, dtype=torch.long)
    labels = torch.full((n, width), IGNORE, dtype=torch.long)
    positions = torch.zeros((n, width), dtype=torch.long)
    segment = torch.full((n, width), -1, dtype=torch.long)
    for r, row in enumerate(rows):
        at = 0
        for s, (i, lab) in enumerate(row):
            ids[r, at: at + len(i)] = torch.tensor(i)
            labels[r, at: at + len(lab)] = torch.tensor(lab)
            positions[r, at: at + len(i)] = torch.arange(len(i))
            segment[r, at: at + len(i)] = s
            at += len(i)
    same = segment[:, :, None] == segment[:, None, :]
    causal = torch.ones((width, width), dtype=torch.bool).tril()
    mask = same & causal & (segment[:, :, None] >= 0)
    mask |= torch.eye(width, dtype=torch.bool)  # a padding position sees itself (no empty softmax row)
    return {"input_ids": ids, "labels": labels, "position_ids": positions, "attention_mask": mask[:, None]}


def token_loss(model: Any, batch: dict[str, Any]) -> tuple[Any, int]:
    """Summed cross-entropy over the labelled tokens of ``batch``, and how many there were. The vocabulary
    projection runs only where there is a label (a plain loop projects every position, prompts included)."""
    import torch

    labels = batch["labels"]
    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal_lm.model(**{k: v for k, v in batch.items() if k != "labels"}).last_hidden_state
    shifted = labels[:, 1:]
    keep = shifted != IGNORE
    logits = causal_lm.lm_head(hidden[:, :-1][keep]).float()
    return torch.nn.functional.cross_entropy(logits, shifted[keep], reduction="sum"), int(keep.sum())


def use_bf16(config: TrainingConfig) -> bool:
    from llmaas.providers.huggingface.model.cpu import has_fast_bf16

    return has_fast_bf16() if config.bf16 is None else config.bf16


def load_for_training(folder: Path, config: TrainingConfig) -> tuple[Tokenizer, Any]:
    """The tokenizer and the model with LoRA layers (a peft model: untyped, as transformers' are)."""
    import torch
    from peft import LoraConfig, get_peft_model

    tok = load_tokenizer(str(folder), local_files_only=True)
    dtype = torch.bfloat16 if use_bf16(config) else torch.float32
    base = load_causal_lm(str(folder), dtype=dtype, local_files_only=True, attn_implementation="sdpa")
    lora = LoraConfig(r=config.rank, lora_alpha=config.alpha, lora_dropout=0.0, target_modules=list(config.targets),
                      task_type="CAUSAL_LM")
    model: Any = get_peft_model(base, lora, autocast_adapter_dtype=True)  # the adapter's weights stay fp32
    return tok, model


def evaluate(model: Any, examples: list[Example], pad: int, config: TrainingConfig) -> float:
    """Mean loss per labelled token over ``examples``."""
    import torch

    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(examples), max(config.batch_size, 8)):
            chunk = examples[start:start + max(config.batch_size, 8)]
            batch = packed_batch(chunk, pad, config.pack_len) if config.packing else padded_batch(chunk, pad)
            loss, n = token_loss(model, batch)
            total, count = total + float(loss), count + n
    return total / max(count, 1)


def train_lora(folder: Path, rows: list[dict[str, Any]], out: Path, config: TrainingConfig,
               on_step: Callable[[Step], bool], validation: list[dict[str, Any]] | None = None,
               on_checkpoint: Callable[[Checkpoint], None] | None = None,
               resume: Path | None = None, stop: Callable[[], bool] | None = None) -> dict[str, float]:
    """Train a LoRA adapter on ``rows`` over the model in ``folder`` and save it in ``out``, with a checkpoint
    in ``out/checkpoint-<step>`` after each epoch (``on_checkpoint`` is told). ``on_step`` is called after
    every step and stops training by returning False; ``stop`` is asked while examples are tokenized, so a
    cancelled job stops in that phase too. ``resume`` is a checkpoint to go on from."""
    import torch
    from peft import set_peft_model_state_dict  # pyright: ignore[reportUnknownVariableType]
    from safetensors.torch import load_file  # pyright: ignore[reportUnknownVariableType]

    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)  # pyright: ignore[reportUnknownMemberType]
    tok, model = load_for_training(folder, config)
    context = int(getattr(model.config, "max_position_embeddings", config.max_len))
    try:
        examples = encode(tok, rows, min(config.max_len, context), stop=stop)
        if not examples:
            raise ValueError("no example has anything to learn (no assistant message with weight 1)")
        held_out = encode(tok, validation, min(config.max_len, context), "validation file",
                          stop) if validation else []
    except Stopped:
        return {"stopped": 1.0}
    pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
    # torch's Optimizer.step is only partly typed
    optimizer: Any = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
    per_epoch = math.ceil(len(examples) / config.batch_size)
    total = per_epoch * config.epochs
    first_epoch, step, loss_value, trained = 1, 0, float("nan"), 0
    if resume is not None:
        set_peft_model_state_dict(model, load_file(str(resume / "adapter_model.safetensors")))
        state = torch.load(resume / "trainer.pt", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        first_epoch, step, loss_value, trained = state["epoch"] + 1, state["step"], state["loss"], state["tokens"]
    model.train()
    for epoch in range(first_epoch, config.epochs + 1):
        order = list(range(len(examples)))
        random.Random(config.seed * 1000 + epoch).shuffle(order)  # the same order when an epoch is resumed
        for start in range(0, len(order), config.batch_size):
            chosen = [examples[i] for i in order[start:start + config.batch_size]]
            batch = packed_batch(chosen, pad, config.pack_len) if config.packing else padded_batch(chosen, pad)
            began = time.perf_counter()
            loss_sum, n = token_loss(model, batch)
            loss = loss_sum / max(n, 1)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            loss_value = float(loss.detach())
            tokens = sum(len(ids) for ids, _ in chosen)
            trained += tokens
            rate = tokens / max(time.perf_counter() - began, 1e-9)
            last = start + config.batch_size >= len(order)
            valid = None
            if last and held_out:
                model.eval()
                valid = evaluate(model, held_out, pad, config)
                model.train()
            if not on_step(Step(step, total, epoch, loss_value, rate, tokens, valid)):
                return {"step": step, "train_loss": loss_value, "stopped": 1.0, "trained_tokens": trained}
            if last:
                where = out / f"checkpoint-{step}"
                model.save_pretrained(str(where))
                torch.save({"optimizer": optimizer.state_dict(), "epoch": epoch, "step": step, "loss": loss_value,
                            "tokens": trained}, where / "trainer.pt")
                if on_checkpoint is not None:
                    on_checkpoint(Checkpoint(where, epoch, step, loss_value, valid))
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    return {"step": step, "train_loss": loss_value, "trained_tokens": trained}
