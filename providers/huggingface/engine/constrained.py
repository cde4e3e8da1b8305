"""Constrained decoding with llguidance: ``response_format`` JSON objects and JSON schemas, and tool calls,
valid by construction. A request's grammar is compiled once off the engine thread (and cached by its text);
each sequence decodes with its own copy of the compiled matcher, and the engine applies the token masks per
row inside the continuous batch, computing them while the forward pass runs.

Why llguidance: ``bench/grammar_libraries.py`` measured it against xgrammar and outlines-core on this
model's tokenizer (docs/benchmarks.md). It and xgrammar compile JSON schemas in milliseconds (outlines-core
takes up to seconds) and compute masks in microseconds; llguidance installs as one wheel with no
dependencies (xgrammar requires triton), releases the GIL while computing masks, and its Lark grammars with
embedded JSON schemas express tool calls (the name as a literal, then the arguments) and text alternatives."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from llmaas._errors import BadRequestError
from llmaas._json import is_array, is_object
from llmaas.providers.huggingface.api.requests import bad
from llmaas.providers.huggingface.model.hf import Tokenizer
from llmaas.types import ChatCompletionRequest

if TYPE_CHECKING:
    from llguidance import LLExecutor, LLMatcher, LLTokenizer

MAX_SCHEMA_BYTES = 64 * 1024  # a larger schema is refused before anything is compiled
CACHE_SIZE = 128  # compiled grammars kept, least recently used leave
_SHIFTS = torch.arange(32, dtype=torch.int32)


@dataclass(frozen=True)
class Constraint:
    """A compiled grammar; ``kind`` is "json" or "tools" (the answer is then read as tool calls)."""

    template: LLMatcher  # never advanced: sequences decode on copies
    kind: str
    tool_names: tuple[str, ...] = ()
    parallel: bool = True

    def matcher(self) -> LLMatcher:
        return self.template.deep_copy()


class Grammars:
    """Compiled grammars for one tokenizer (one engine), built on the caller's thread and cached."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._ll: LLTokenizer | None = None
        self._cache: OrderedDict[str, LLMatcher] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _ll_tokenizer(self) -> LLTokenizer:
        if self._ll is None:
            import llguidance.hf

            hf_tokenizer: Any = self._tokenizer  # a Hugging Face tokenizer: the protocol names only what llmaas calls
            self._ll = llguidance.hf.from_tokenizer(hf_tokenizer)
        return self._ll

    def compile(self, grammar: str, param: str) -> LLMatcher:
        """The matcher for ``grammar``, compiled now or taken from the cache; 400 naming ``param`` if the
        grammar (the schema it came from) is invalid or too complex."""
        from llguidance import LLMatcher, LLParserLimits

        with self._lock:
            found = self._cache.get(grammar)
            if found is not None:
                self._cache.move_to_end(grammar)
                self.hits += 1
                return found
        ll = self._ll_tokenizer()
        limits = LLParserLimits()
        error = LLMatcher.validate_grammar(grammar, ll, limits=limits)
        if error:
            raise bad(f"{param} cannot be used for constrained decoding: {error}", param, "invalid_schema")
        matcher = LLMatcher(ll, grammar, log_level=0, limits=limits)
        if matcher.is_error():
            raise bad(f"{param} cannot be used for constrained decoding: {matcher.get_error()}", param,
                      "invalid_schema")
        with self._lock:
            self.misses += 1
            self._cache[grammar] = matcher
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return matcher


def _schema_text(schema: Any, param: str) -> str:
    if not isinstance(schema, dict):
        raise bad(f"{param} must be a JSON schema object", param, "invalid_schema")
    text = json.dumps(schema, separators=(",", ":"), sort_keys=True)
    if len(text) > MAX_SCHEMA_BYTES:
        raise bad(f"{param} is {len(text):,} bytes of JSON; the limit for constrained decoding is "
                  f"{MAX_SCHEMA_BYTES:,}", param, "schema_too_large")
    return text


def _json_grammar(schema: dict[str, Any], param: str) -> str:
    from llguidance import LLMatcher

    text = _schema_text(schema, param)
    try:
        return LLMatcher.grammar_from_json_schema(text, defaults={"whitespace_flexible": False})
    except ValueError as exc:
        raise bad(f"{param} is not a usable JSON schema: {exc}", param, "invalid_schema") from None


def instructed_schema(req: ChatCompletionRequest) -> dict[str, Any] | None:
    """The JSON schema a JSON-mode request's system or developer messages ask the answer to follow (as
    pydantic-ai's ``PromptedOutput`` and JSON-mode prompts write it), so that the answer follows it by
    construction; None when they hold none (or more than one), and JSON mode then asks for any object."""
    found: list[dict[str, Any]] = []
    for m in req.messages:
        if m.role not in ("system", "developer"):
            continue
        content = m.content
        text = content if isinstance(content, str) else "".join(getattr(p, "text", "") for p in content or [])
        found += _schemas_in(text[:MAX_SCHEMA_BYTES])
    if len(found) != 1:
        return None
    try:
        _json_grammar(found[0], "response_format")
    except BadRequestError:
        return None
    return found[0]


def _schemas_in(text: str, tries: int = 64) -> list[dict[str, Any]]:
    decoder, out, start = json.JSONDecoder(), list[dict[str, Any]](), 0
    while tries > 0:
        at = text.find("{", start)
        if at < 0:
            break
        tries -= 1
        try:
            value, end = decoder.raw_decode(text, at)
        except ValueError:
            start = at + 1
            continue
        if is_object(value) and value.get("type") == "object" and is_object(value.get("properties")):
            out.append(value)
        start = end
    return out


def tool_choice_of(req: ChatCompletionRequest) -> str:
    """"none", "auto", "required", or the name a named choice gives."""
    choice = req.tool_choice
    if choice is None:
        return "auto" if req.tools else "none"
    if isinstance(choice, str):
        return choice
    return choice.function.name


def _arguments_schema(parameters: dict[str, Any] | None, strict: bool) -> dict[str, Any]:
    """A function's parameters as the arguments' schema; strict (as OpenAI defines it) allows no property
    the schema does not name, at any depth."""
    schema: dict[str, Any] = parameters if parameters else {"type": "object", "properties": {}}
    return _closed(schema) if strict else schema


def _closed(schema: Any) -> Any:  # JSON Schema from the request: any JSON value
    if is_array(schema):
        return [_closed(s) for s in schema]
    if not is_object(schema):
        return schema
    out: dict[str, Any] = {k: _closed(v) if k in ("properties", "items", "anyOf", "oneOf", "allOf", "$defs",
                                                  "definitions")
                           or is_object(v) and k not in ("const", "default", "enum", "examples") else v
                           for k, v in schema.items()}
    properties = schema.get("properties")
    if is_object(properties):
        out["properties"] = {k: _closed(v) for k, v in properties.items()}
    if out.get("type") == "object" and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def tools_grammar(req: ChatCompletionRequest, choice: str, grammars: Grammars) -> tuple[str, tuple[str, ...], bool]:
    """The Lark grammar of an answer with tools: calls written ``{"name": "<function>", "arguments": {...}}``
    (the name first and literal, the arguments valid for that function's parameters), as a JSON list when
    parallel calls are allowed; with ``auto``, plain text instead (text that does not open like a call).
    Every tool's parameters are checked on the way, so a malformed one is named."""
    tools = req.tools or []
    names = tuple(t.function.name for t in tools)
    if choice not in ("auto", "required") and choice not in names:
        raise bad(f"tool_choice names the function {choice!r}, which is not among the tools "
                  f"({', '.join(names) or 'none given'})", "tool_choice", "invalid_value")
    picked = [t for t in tools if choice in ("auto", "required") or t.function.name == choice]
    rules: list[str] = []
    for i, tool in enumerate(picked):
        param = f"tools.{tools.index(tool)}.function.parameters"
        arguments = _arguments_schema(tool.function.parameters, bool(tool.function.strict))
        grammars.compile(_json_grammar(arguments, param), param)  # a malformed schema is refused naming its tool
        literal = json.dumps('{"name":' + json.dumps(tool.function.name) + ',"arguments":')
        rules.append(f"call_{i}: {literal} args_{i} \"}}\"\nargs_{i}: %json {json.dumps(arguments)}")
    call = "call: " + " | ".join(f"call_{i}" for i in range(len(picked)))
    parallel = req.parallel_tool_calls is not False and choice in ("auto", "required")
    calls = 'calls: "[" call ("," call)* "]"' if parallel else "calls: call"
    answer = _answer_schema(req)
    if choice != "auto":
        start = "start: calls"
    elif answer is None:
        start = "start: calls | TEXT\nTEXT: /[^\\[{ \\t\\n][\\s\\S]*/"
    else:  # beside tools, the answer in text follows response_format, as on OpenAI
        start = f"start: calls | answer\nanswer: %json {json.dumps(answer)}"
    return "\n".join([start, calls, call, *rules]) + "\n", tuple(t.function.name for t in picked), parallel


def _answer_schema(req: ChatCompletionRequest) -> dict[str, Any] | None:
    """The JSON schema ``response_format`` asks an answer to follow (None for free text)."""
    fmt = req.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return instructed_schema(req) or {"type": "object"}
    param = "response_format.json_schema.schema"
    schema = fmt.json_schema.schema_
    if schema is None:
        raise bad("response_format json_schema needs a schema", param, "invalid_schema")
    _schema_text(schema, param)
    return _closed(schema) if fmt.json_schema.strict else schema


def constraint_for(req: ChatCompletionRequest, grammars: Grammars) -> Constraint | None:
    """The constraint a chat request asks for (None: free text). Runs the compile, so call it off the
    engine thread and off the event loop."""
    from llguidance import LLMatcher

    choice = tool_choice_of(req)
    if req.tools and choice != "none":
        lark, names, parallel = tools_grammar(req, choice, grammars)
        if len(lark) > MAX_SCHEMA_BYTES:
            raise bad(f"the tools' schemas come to {len(lark):,} bytes; the limit for constrained decoding is "
                      f"{MAX_SCHEMA_BYTES:,}", "tools", "schema_too_large")
        return Constraint(grammars.compile(LLMatcher.grammar_from_lark(lark), "tools"), "tools", names, parallel)
    schema = _answer_schema(req)
    if schema is None:
        return None
    param = "response_format.json_schema.schema" if req.response_format and req.response_format.type == "json_schema" \
        else "response_format"
    return Constraint(grammars.compile(_json_grammar(schema, param), param), "json")


# -- masks ------------------------------------------------------------------------------------------------


def new_bitmask(rows: int, vocab: int) -> torch.Tensor:
    return torch.full((rows, (vocab + 31) // 32), -1, dtype=torch.int32)


def fill_masks(executor: LLExecutor, matchers: list[tuple[LLMatcher, int]], bitmask: torch.Tensor) -> None:
    """Each matcher's allowed tokens into its row of ``bitmask`` (llguidance drops the GIL meanwhile)."""
    executor.unsafe_compute_mask_ptr(matchers, bitmask.data_ptr(), bitmask.shape[1] * 4, bitmask.shape[0])


@torch.inference_mode()
def apply_masks(logits: torch.Tensor, rows: list[int], bitmask: torch.Tensor) -> None:
    """Set the logits of disallowed tokens to -inf in ``rows`` (the bitmask's row for a logits row has the
    same index)."""
    idx = torch.tensor(rows, dtype=torch.long)
    bits = ((bitmask[idx].unsqueeze(-1) >> _SHIFTS) & 1).view(len(rows), -1)
    vocab = logits.shape[1]
    allowed = bits[:, :vocab].bool()
    if allowed.shape[1] < vocab:  # model rows past the tokenizer's vocabulary are never allowed
        allowed = torch.cat([allowed, allowed.new_zeros(len(rows), vocab - allowed.shape[1])], dim=1)
    logits[idx] = logits[idx].masked_fill(~allowed, float("-inf"))
