"""Which constrained-decoding library the engine uses, by measurement: llguidance, xgrammar and
outlines-core on SmolLM2's tokenizer (49,152 tokens), for a few JSON schemas: compile time (cold, in a
fresh process state) and the time to compute one token mask along a valid answer.

    .venv/bin/python bench/grammar_libraries.py        (each library that is installed)
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from transformers import AutoTokenizer

from llmaas.providers.huggingface.management.loading import SMOLLM2, builtin_sources, ensure_converted

SCHEMAS: dict[str, dict[str, Any]] = {
    "flat object": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                    "required": ["name", "age"], "additionalProperties": False},
    "nested, arrays, enums": {
        "type": "object", "additionalProperties": False, "required": ["city", "days"],
        "properties": {"city": {"type": "string", "maxLength": 40},
                       "days": {"type": "array", "minItems": 1, "maxItems": 5, "items": {
                           "type": "object", "additionalProperties": False, "required": ["day", "sky", "high"],
                           "properties": {"day": {"enum": ["mon", "tue", "wed", "thu", "fri"]},
                                          "sky": {"enum": ["sun", "rain", "cloud"]},
                                          "high": {"type": "number"}}}}}},
    "any JSON object": {"type": "object"},
}
ANSWERS = {
    "flat object": {"name": "Ada Lovelace", "age": 36},
    "nested, arrays, enums": {"city": "Lisbon", "days": [{"day": "mon", "sky": "sun", "high": 21.5},
                                                          {"day": "tue", "sky": "rain", "high": 17}]},
    "any JSON object": {"a": [1, 2, {"b": None}], "c": "text"},
}


def llguidance_run(tok: Any, schema: dict[str, Any], answer: list[int]) -> tuple[float, list[float]]:
    import llguidance
    import llguidance.hf
    import llguidance.torch

    start = time.perf_counter()
    ll_tok = llguidance.hf.from_tokenizer(tok)
    tok_time = time.perf_counter() - start
    start = time.perf_counter()
    grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema), defaults={"whitespace_flexible": False})
    matcher = llguidance.LLMatcher(ll_tok, grammar)
    mask = llguidance.torch.allocate_token_bitmask(1, ll_tok.vocab_size)
    llguidance.torch.fill_next_token_bitmask(matcher, mask)
    compile_time = time.perf_counter() - start
    steps = []
    for t in answer:
        assert matcher.consume_token(t), matcher.get_error()
        s = time.perf_counter()
        llguidance.torch.fill_next_token_bitmask(matcher, mask)
        steps.append(time.perf_counter() - s)
    return compile_time + tok_time * 0, steps


def xgrammar_run(tok: Any, schema: dict[str, Any], answer: list[int]) -> tuple[float, list[float]]:
    import xgrammar

    info = xgrammar.TokenizerInfo.from_huggingface(tok, vocab_size=len(tok))
    start = time.perf_counter()
    compiler = xgrammar.GrammarCompiler(info, cache_enabled=False)
    compiled = compiler.compile_json_schema(json.dumps(schema), any_whitespace=False, separators=(",", ":"))
    matcher = xgrammar.GrammarMatcher(compiled)
    mask = xgrammar.allocate_token_bitmask(1, info.vocab_size)
    matcher.fill_next_token_bitmask(mask)
    compile_time = time.perf_counter() - start
    steps = []
    for t in answer:
        assert matcher.accept_token(t)
        s = time.perf_counter()
        matcher.fill_next_token_bitmask(mask)
        steps.append(time.perf_counter() - s)
    return compile_time, steps


def outlines_run(tok: Any, schema: dict[str, Any], answer: list[int]) -> tuple[float, list[float]]:
    import torch
    from outlines_core import Guide, Index, Vocabulary
    from outlines_core.json_schema import build_regex_from_schema

    vocab: dict[str, list[int]] = {}
    for token, i in tok.get_vocab().items():
        if i != tok.eos_token_id:
            vocab.setdefault(tok.convert_tokens_to_string([token]) if not token.startswith("<") else token, []).append(i)
    start = time.perf_counter()
    index = Index(build_regex_from_schema(json.dumps(schema)), Vocabulary(tok.eos_token_id, vocab))
    guide = Guide(index)
    mask = torch.zeros((len(tok) + 31) // 32, dtype=torch.int32)
    guide.write_mask_into(mask.data_ptr(), mask.numel(), mask.element_size())
    compile_time = time.perf_counter() - start
    steps = []
    for t in answer:
        guide.advance(t)
        s = time.perf_counter()
        guide.write_mask_into(mask.data_ptr(), mask.numel(), mask.element_size())
        steps.append(time.perf_counter() - s)
    return compile_time, steps


def main() -> str:
    folder = ensure_converted(builtin_sources()[SMOLLM2], progress=False)
    tok = AutoTokenizer.from_pretrained(str(folder))
    rows = ["| library | schema | compile (s) | mask per token, median (ms) | p95 (ms) |", "| --- | --- | --- | --- | --- |"]
    for name, run in (("llguidance", llguidance_run), ("xgrammar", xgrammar_run), ("outlines-core", outlines_run)):
        for label, schema in SCHEMAS.items():
            answer = tok.encode(json.dumps(ANSWERS[label], separators=(",", ":")), add_special_tokens=False)
            try:
                compile_time, steps = run(tok, schema, answer)
            except ImportError:
                rows.append(f"| {name} | {label} | not installed | | |")
                continue
            except Exception as exc:  # noqa: BLE001 - a library that cannot do this schema says so in the table
                rows.append(f"| {name} | {label} | failed: {type(exc).__name__} {str(exc)[:60]} | | |")
                continue
            steps.sort()
            rows.append(f"| {name} | {label} | {compile_time:.3f} | {statistics.median(steps) * 1e3:.3f} | "
                        f"{steps[int(0.95 * (len(steps) - 1))] * 1e3:.3f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(main())
