"""OpenAI-style services llmaas knows by name. Data, not code: a new one is a new row.

Each row: provider name -> (base URL, environment variable holding the key, whether a key is required).
``LLMAAS_<NAME>_BASE_URL`` overrides a row's URL (``LLMAAS_OLLAMA_BASE_URL=http://gpu-box:11434/v1``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    base_url: str
    api_key_env: str | None
    key_required: bool = True
    batches: bool = False  # serves OpenAI's Batches API (/v1/batches over the files API)
    evals: bool = False  # serves OpenAI's Evals API (/v1/evals)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("openai", "https://api.openai.com/v1", "OPENAI_API_KEY", batches=True, evals=True),
        Preset("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", batches=True),
        Preset("together", "https://api.together.xyz/v1", "TOGETHER_API_KEY", batches=True),
        Preset("fireworks", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
        Preset("deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
        Preset("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
        Preset("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        Preset("ollama", "http://localhost:11434/v1", "OLLAMA_API_KEY", key_required=False),
        Preset("vllm", "http://localhost:8000/v1", "VLLM_API_KEY", key_required=False),
        Preset("tgi", "http://localhost:8080/v1", "TGI_API_KEY", key_required=False),
    )
}
