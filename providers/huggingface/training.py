"""LoRA fine-tuning of a local causal LM with peft: examples to token ids with labels on what the assistant
says (or on the completion), then a plain AdamW loop over padded batches. Called by the job worker, which
runs in its own process with its own thread budget."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IGNORE = -100
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass
class TrainingConfig:
    epochs: int = 3
    batch_size: int = 4
    learning_rate: float = 1e-4  # "auto"; the job's learning_rate_multiplier scales it
    rank: int = 8
    alpha: int = 16
    targets: tuple[str, ...] = DEFAULT_TARGETS
    max_len: int = 1024
    seed: int = 0
    threads: int = 1


@dataclass
class Step:
    """What the loop reports after each optimizer step."""

    step: int
    total: int
    epoch: int
    loss: float
    tokens_per_s: float
    extra: dict[str, float] = field(default_factory=dict)


def _chat_example(tok: Any, messages: list[dict[str, Any]], max_len: int) -> tuple[list[int], list[int]]:
    """Token ids of a whole conversation, and labels that keep only the assistant's turns (weight 1)."""
    plain = [{k: v for k, v in m.items() if k in ("role", "content")} for m in messages]
    ids: list[int] = []
    labels: list[int] = []
    for i, message in enumerate(messages):
        rendered = tok.apply_chat_template(plain[: i + 1], tokenize=True, return_dict=False)
        if isinstance(rendered, dict) or hasattr(rendered, "input_ids"):
            rendered = rendered["input_ids"]
        new = list(rendered)[len(ids):]
        learn = message.get("role") == "assistant" and message.get("weight", 1) == 1
        if learn:  # the assistant's header is context, the reply after it is what is learnt
            header = tok.apply_chat_template(plain[:i], add_generation_prompt=True, tokenize=True,
                                             return_dict=False) if i else []
            if isinstance(header, dict) or hasattr(header, "input_ids"):
                header = header["input_ids"]
            skip = max(0, len(list(header)) - len(ids))
            labels += [IGNORE] * skip + new[skip:]
        else:
            labels += [IGNORE] * len(new)
        ids += new
    return ids[:max_len], labels[:max_len]


def _prompt_example(tok: Any, prompt: str, completion: str, max_len: int) -> tuple[list[int], list[int]]:
    p = tok.encode(prompt, add_special_tokens=False)
    c = tok.encode(completion, add_special_tokens=False) + ([tok.eos_token_id] if tok.eos_token_id is not None else [])
    return (p + c)[:max_len], ([IGNORE] * len(p) + c)[:max_len]


def encode(tok: Any, rows: list[dict[str, Any]], max_len: int) -> list[tuple[list[int], list[int]]]:
    out = []
    for row in rows:
        if "messages" in row:
            out.append(_chat_example(tok, row["messages"], max_len))
        else:
            out.append(_prompt_example(tok, row["prompt"], row["completion"], max_len))
    return [(ids, labels) for ids, labels in out if any(label != IGNORE for label in labels)]


def _batch(examples: list[tuple[list[int], list[int]]], pad: int) -> tuple[Any, Any, Any]:
    import torch

    width = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), width), pad, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, (i, lab) in enumerate(examples):
        ids[row, : len(i)] = torch.tensor(i)
        labels[row, : len(lab)] = torch.tensor(lab)
        mask[row, : len(i)] = 1
    return ids, labels, mask


def train_lora(folder: Path, rows: list[dict[str, Any]], out: Path, config: TrainingConfig,
               on_step: Callable[[Step], bool]) -> dict[str, float]:
    """Train a LoRA adapter on ``rows`` over the model in ``folder``; save it in ``out``. ``on_step`` is called
    after every step and stops training by returning False. Returns the final metrics."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, local_files_only=True)
    model = get_peft_model(model, LoraConfig(r=config.rank, lora_alpha=config.alpha, lora_dropout=0.0,
                                             target_modules=list(config.targets), task_type="CAUSAL_LM"))
    examples = encode(tok, rows, config.max_len)
    if not examples:
        raise ValueError("no example has anything to learn (no assistant message with weight 1)")
    pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
    per_epoch = math.ceil(len(examples) / config.batch_size)
    total = per_epoch * config.epochs
    order = list(range(len(examples)))
    rng = random.Random(config.seed)
    step, loss_value = 0, float("nan")
    model.train()
    for epoch in range(1, config.epochs + 1):
        rng.shuffle(order)
        for start in range(0, len(order), config.batch_size):
            chosen = [examples[i] for i in order[start:start + config.batch_size]]
            ids, labels, mask = _batch(chosen, pad)
            began = time.perf_counter()
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            loss_value = float(loss.detach())
            rate = float(mask.sum()) / max(time.perf_counter() - began, 1e-9)
            if not on_step(Step(step, total, epoch, loss_value, rate)):
                return {"step": step, "train_loss": loss_value, "stopped": 1.0}
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    return {"step": step, "train_loss": loss_value}
