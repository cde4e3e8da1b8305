"""lm-evaluation-harness itself against a live float32 server (``local-completions``: ``echo``, ``logprobs=1``,
``max_tokens=1``), on a tiny local task, compared with its ``hf`` model on the same weights in float32: every
choice's log-likelihood the same, including choices that end where the model would end its turn."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CHAT, ServerProcess

pytestmark = pytest.mark.slow
DATA = Path(__file__).parent / "data" / "lm_eval"


def _run(model: str, args: str, out: Path, include: Path, env: dict[str, str]) -> list[dict]:
    subprocess.run([sys.executable, "-m", "lm_eval", "--model", model, "--model_args", args,
                    "--tasks", "llmaas_tiny_qa", "--include_path", str(include), "--batch_size", "1",
                    "--device", "cpu", "--output_path", str(out), "--log_samples"],
                   check=True, env=env, capture_output=True, text=True, timeout=600)
    found = sorted(out.rglob("samples_llmaas_tiny_qa_*.jsonl"))
    assert found, list(out.rglob("*"))
    return [json.loads(line) for line in found[-1].read_text().splitlines()]


def _scores(samples: list[dict]) -> dict[tuple[int, int], float]:
    return {(s["doc_id"], i): float(r[0][0]) for s in samples for i, r in enumerate(s["resps"])}


def test_lm_eval_through_the_server_matches_its_hf_model(tmp_path):
    from llmaas.providers.huggingface.management.loading import SMOLLM2, ensure_converted, resolve_source

    weights = ensure_converted(resolve_source(SMOLLM2), progress=False)
    include = tmp_path / "tasks"
    include.mkdir()
    (include / "tiny_qa.yaml").write_text((DATA / "tiny_qa.yaml").read_text().replace(
        "DATA_FILE", str(DATA / "tiny_qa.jsonl")))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "HF_HOME": str(tmp_path / "hf"), "OPENAI_API_KEY": "unused"}
    server = ServerProcess(tmp_path / "home", LLMAAS_DTYPE="float32").start()
    try:
        api = _run("local-completions", f"model={CHAT},base_url={server.base_url}/completions,tokenizer={weights},"
                   "tokenizer_backend=huggingface,tokenized_requests=True,num_concurrent=1,max_retries=1",
                   tmp_path / "api", include, env)
    finally:
        server.stop()
    hf = _run("hf", f"pretrained={weights},dtype=float32", tmp_path / "hf_out", include, env)
    ours, theirs = _scores(api), _scores(hf)
    assert ours.keys() == theirs.keys() and len(ours) == 12
    worst = max(abs(ours[k] - theirs[k]) for k in ours)
    assert worst < 1e-4, (worst, ours, theirs)
    # " Spring" after "Answer:" is the whole continuation: its last token was the one lm-eval lost
    assert ours[(0, 0)] < -0.01, ours
