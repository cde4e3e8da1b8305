"""`make bench`: every benchmark, printed as the markdown that docs/benchmarks.md records."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

SECTIONS = [
    ("import time", "import_time"),
    ("type completeness", "type_completeness"),
    ("client overhead", "client_overhead"),
    ("engine", "engine"),
    ("engine: one stream against llama.cpp", "one_stream"),
    ("server", "server"),
    ("batches: throughput alone, and interactive latency while one runs", "batches"),
    ("the store: SQLite and PostgreSQL, one front door and two", "store"),
    ("evaluations: grading speed and the bias suite", "evals"),
    ("evaluations: client.evals runs, and agreement with lm-evaluation-harness", "evals_agreement"),
    ("fine-tuning: training speed", "fine_tune_speed"),
    ("fine-tuning: what a job teaches and keeps", "fine_tune_quality"),
    ("fine-tuning: serving adapters beside the base model", "adapter_serving"),
    ("moderation: llmaas-moderation-1 and -2 on the held-out split", "moderation_eval"),
    ("privacy: PII detection on unseen formats", "pii_eval"),
    ("models: registering, switching under a memory budget, the slow path", "model_switch"),
    ("structured output: constrained decoding libraries", "grammar_libraries"),
    ("structured output and tools", "structured"),
    ("agent frameworks and the Responses API", "agent_clients"),
    ("routing", "router"),
    ("engine: quality of each mode (perplexity)", "quality"),
    ("engine: where a decode step goes", "profile_step"),
]


def main(only: list[str]) -> None:
    for title, module in SECTIONS:
        if only and module not in only:
            continue
        print(f"## {title}\n\n`python bench/{module}.py`\n")
        print(importlib.import_module(module).main())
        print(flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
