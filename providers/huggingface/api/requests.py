"""Turning OpenAI requests into prompts and sampling parameters for the engine, with a typed error for
every value the model cannot serve."""

from __future__ import annotations

import json
from typing import Any

from llmaas._errors import BadRequestError, ContextLengthExceededError
from llmaas.providers.huggingface.engine.sampling import SamplingParams
from llmaas.providers.huggingface.model.hf import Tokenizer, chat_ids
from llmaas.types import ChatCompletionRequest, CompletionRequest

MAX_STOP = 4
MAX_STOP_LEN = 256


def bad(message: str, param: str, code: str = "invalid_value") -> BadRequestError:
    return BadRequestError(message, status_code=400, param=param, code=code, type="invalid_request_error")


def check_utf8(text: str, param: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise bad(f"{param} is not valid UTF-8 text (bad character at offset {exc.start})", param) from None
    return text


def _text_of(content: Any, param: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return check_utf8(content, param)
    parts: list[str] = []
    for j, part in enumerate(content):
        if part.type == "text":
            parts.append(check_utf8(part.text, f"{param}.{j}.text"))
        elif part.type == "refusal":
            parts.append(check_utf8(part.refusal, f"{param}.{j}.refusal"))
        else:
            raise bad(f"this model reads text only; {param}.{j} is of type {part.type!r}", f"{param}.{j}.type",
                      "unsupported_content")
    return "".join(parts)


def chat_prompt(tokenizer: Tokenizer, req: ChatCompletionRequest) -> list[int]:
    """Render the messages with the model's chat template and tokenize them. Tools go to the template when
    it knows them; otherwise they are described in a system message, with the answer format the
    constrained decoder enforces. A JSON schema answer format is described the same way (a small model
    fills a schema it has read far better than one it has not)."""
    template = tokenizer.chat_template
    if not template:
        raise bad(f"model {req.model!r} has no chat template; use the completions endpoint", "model",
                  "no_chat_template")
    if req.functions:
        raise bad("functions is deprecated and not served here; pass tools instead", "functions",
                  "unsupported_parameter")
    native_tools = "tools" in str(template)
    messages = _messages(req, native_tools)
    kwargs: dict[str, Any] = {}
    use_tools = bool(req.tools) and req.tool_choice != "none"
    if use_tools and native_tools:
        kwargs["tools"] = [t.model_dump(by_alias=True, exclude_none=True) for t in req.tools or []]
    note = _tools_note(req) if use_tools and not native_tools else None
    fmt_note = _format_note(req)
    if fmt_note:  # beside tools too: an answer in text follows the schema
        note = f"{note}\n{_otherwise(fmt_note)}" if note else _otherwise(fmt_note) if use_tools else fmt_note
    if note:
        if messages and messages[0]["role"] == "system":
            messages[0] = {**messages[0], "content": f"{messages[0]['content']}\n\n{note}".strip()}
        else:
            messages.insert(0, {"role": "system", "content": note})
    try:
        return chat_ids(tokenizer, messages, add_generation_prompt=True, **kwargs)
    except Exception as exc:  # jinja2.TemplateError and friends: the template refused these messages
        raise bad(f"the chat template of {req.model!r} cannot render these messages: {exc}", "messages",
                  "invalid_messages") from None


def _messages(req: ChatCompletionRequest, native_tools: bool) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    for i, m in enumerate(req.messages):
        role = "system" if m.role == "developer" else m.role
        entry: dict[str, Any] = {"role": role, "content": _text_of(m.content, f"messages.{i}.content")}
        name: str | None = getattr(m, "name", None)  # the message kinds that have a name
        if name:
            entry["name"] = name
        if m.role == "assistant" and m.tool_calls:
            for tc in m.tool_calls:
                call_names[tc.id] = tc.function.name
            if native_tools:
                entry["tool_calls"] = [tc.model_dump() for tc in m.tool_calls]
            else:  # the calls as the model was asked to write them
                calls = [{"name": tc.function.name, "arguments": _arguments(tc.function.arguments)}
                         for tc in m.tool_calls]
                entry["content"] = (entry["content"] + "\n" if entry["content"] else "") + json.dumps(calls)
        if m.role == "tool":
            if native_tools:
                entry["tool_call_id"] = m.tool_call_id
            else:
                name = call_names.get(m.tool_call_id, "the function")
                entry["content"] = f"Result of {name}: {entry['content']}"
        messages.append(entry)
    return messages


def _arguments(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _tools_note(req: ChatCompletionRequest) -> str:
    tools = [{"name": t.function.name, "description": t.function.description or "",
              "parameters": t.function.parameters or {"type": "object", "properties": {}}} for t in req.tools or []]
    choice = req.tool_choice
    how = ("Reply with a JSON list of calls, each {\"name\": ..., \"arguments\": {...}}"
           if req.parallel_tool_calls is not False and not hasattr(choice, "function")
           else "Reply with one call as JSON {\"name\": ..., \"arguments\": {...}}")
    otherwise = "plain text" if req.response_format is None or req.response_format.type == "text" else "JSON"
    when = f" when a function helps; otherwise answer in {otherwise}" if choice in (None, "auto") else ""
    return f"You can call these functions:\n{json.dumps(tools)}\n{how}{when}."


def _otherwise(note: str) -> str:
    return "When you answer without calling a function, " + note[0].lower() + note[1:]


def _format_note(req: ChatCompletionRequest) -> str | None:
    fmt = req.response_format
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return "Reply with a JSON object."
    schema = fmt.json_schema.schema_
    return f"Reply with JSON that follows this JSON schema:\n{json.dumps(schema)}" if schema is not None else None


def completion_prompts(tokenizer: Tokenizer, req: CompletionRequest) -> list[list[int]]:
    p = req.prompt
    if isinstance(p, str):
        return [_encode(tokenizer, p, "prompt")]
    if not p:
        raise bad("prompt must not be empty", "prompt")
    if all(isinstance(x, int) for x in p):
        return [_check_ids(tokenizer, list(p), "prompt")]  # type: ignore[arg-type]
    if all(isinstance(x, str) for x in p):
        return [_encode(tokenizer, x, f"prompt.{i}") for i, x in enumerate(p)]  # type: ignore[arg-type]
    return [_check_ids(tokenizer, list(x), f"prompt.{i}") for i, x in enumerate(p)]  # type: ignore[arg-type]


def _encode(tokenizer: Tokenizer, text: str, param: str) -> list[int]:
    ids = tokenizer.encode(check_utf8(text, param), add_special_tokens=False)
    if not ids:
        raise bad(f"{param} must hold at least one token; it is empty", param)
    return ids


def _check_ids(tokenizer: Tokenizer, ids: list[int], param: str) -> list[int]:
    vocab = len(tokenizer)
    bad_ids = [t for t in ids if not 0 <= t < vocab]
    if bad_ids:
        raise bad(f"{param} holds token ids outside the vocabulary (0..{vocab - 1}): {bad_ids[:5]}", param)
    if not ids:
        raise bad(f"{param} must not be empty", param)
    return ids


def sampling_params(
    req: ChatCompletionRequest | CompletionRequest,
    *,
    prompt_len: int,
    max_len: int,
    vocab: int,
    stop_token_ids: list[int],
    default_max_tokens: int | None,
    logprobs: bool,
    top_logprobs: int,
    max_n: int,
) -> tuple[SamplingParams, int]:
    """SamplingParams and n for a request, checking what pydantic's ranges cannot."""
    limit = req.token_limit if isinstance(req, ChatCompletionRequest) else req.max_tokens
    where = "messages" if isinstance(req, ChatCompletionRequest) else "prompt"
    if prompt_len >= max_len:
        raise ContextLengthExceededError(
            f"This model's maximum context length is {max_len} tokens. However, your {where} resulted in "
            f"{prompt_len} tokens. Please reduce the length of the {where}.",
            status_code=400, param=where, type="invalid_request_error")
    if limit is None:
        limit = default_max_tokens if default_max_tokens is not None else max_len - prompt_len
        limit = min(limit, max_len - prompt_len)
    elif prompt_len + limit > max_len:
        raise ContextLengthExceededError(
            f"This model's maximum context length is {max_len} tokens. However, you requested "
            f"{prompt_len + limit} tokens ({prompt_len} in the {where}, {limit} in the completion). "
            f"Please reduce the length of the {where} or completion.",
            status_code=400, param="max_tokens", type="invalid_request_error")
    if limit < 1:
        raise bad("max_tokens must be at least 1", "max_tokens")
    stop = req.stop_list
    if len(stop) > MAX_STOP:
        raise bad(f"stop may hold at most {MAX_STOP} sequences, got {len(stop)}", "stop")
    for i, s in enumerate(stop):
        check_utf8(s, f"stop.{i}")
        if len(s) > MAX_STOP_LEN:
            raise bad(f"stop.{i} is longer than {MAX_STOP_LEN} characters", f"stop.{i}")
    n = req.n or 1
    if n > max_n:
        raise bad(f"n must be at most {max_n} on this server, got {n}", "n")
    bias: dict[int, float] = {}
    for key, value in (req.logit_bias or {}).items():
        try:
            token = int(key)
        except ValueError:
            raise bad(f"logit_bias keys must be token ids, got {key!r}", "logit_bias") from None
        if not 0 <= token < vocab:
            raise bad(f"logit_bias token {token} is outside the vocabulary (0..{vocab - 1})", "logit_bias")
        if not -100 <= value <= 100:
            raise bad(f"logit_bias values must be between -100 and 100, got {value}", "logit_bias")
        bias[token] = float(value)
    temperature = 1.0 if req.temperature is None else float(req.temperature)
    params = SamplingParams(
        max_tokens=limit,
        temperature=temperature,
        top_p=1.0 if req.top_p is None else float(req.top_p),
        top_k=max(0, req.top_k or 0),
        seed=None if req.seed is None else req.seed % (2**63),
        stop=stop,
        stop_token_ids=stop_token_ids,
        presence_penalty=req.presence_penalty or 0.0,
        frequency_penalty=req.frequency_penalty or 0.0,
        logit_bias=bias,
        logprobs=logprobs,
        top_logprobs=top_logprobs,
        ignore_eos=bool(req.ignore_eos),
    )
    return params, n
