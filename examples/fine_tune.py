"""Fine-tune the built-in chat model in this process, then chat with the result.

The training set (examples/data/pirate_train.jsonl, 40 questions) teaches a reply format: every answer opens
with "Ahoy, matey!". The questions asked before and after are not in the training set, so what changes is
what the model learnt, not what it memorised. Training is LoRA in a worker process (a few minutes at most
on a laptop CPU; progress shows as it goes); the result is served at once by the same engine as its base.

The store is a temporary folder here, so the example leaves nothing behind; pass a home of your own (or
set LLMAAS_HOME) to keep the model, and `llmaas serve` on that home serves it too.
"""

import tempfile
import time
from pathlib import Path

import llmaas
from llmaas.cli_fine_tune import follow

MODEL = "smollm2-135m-instruct"
DATA = Path(__file__).parent / "data" / "pirate_train.jsonl"
HELD_OUT = ["What is the capital of Canada?", "What do pandas eat?", "Name a musical instrument."]


def answers(client: llmaas.Client, model: str) -> list[str]:
    out: list[str] = []
    for question in HELD_OUT:
        reply = client.chat.completions.create(model=model, temperature=0, max_tokens=24,
                                               messages=[{"role": "user", "content": question}])
        out.append((reply.choices[0].message.content or "").strip().replace("\n", " "))
    return out


with tempfile.TemporaryDirectory() as home, \
        llmaas.Client(provider_options={"hf": {"home": home}}) as client:
    before = answers(client, MODEL)
    training = client.files.create(file=(DATA.name, DATA.read_bytes()), purpose="fine-tune")
    start = time.perf_counter()
    job = client.fine_tuning.jobs.create(model=MODEL, training_file=training.id, suffix="pirate")
    print(f"job {job.id}: {job.status}")
    job = follow(client, job.id)  # a progress bar: step, loss, tokens/s, time left
    if job.status != "succeeded" or job.fine_tuned_model is None:
        raise SystemExit(f"the job {job.status}: {job.error.message if job.error else ''}")
    print(f"trained {job.trained_tokens} tokens in {time.perf_counter() - start:.0f} s: {job.fine_tuned_model}")
    after = answers(client, job.fine_tuned_model)
    for question, old, new in zip(HELD_OUT, before, after, strict=True):
        print(f"\nQ: {question}\n  base:       {old}\n  fine-tuned: {new}")
    taught = sum(a.lower().startswith("ahoy") for a in after)
    print(f"\n{taught}/{len(HELD_OUT)} held-out answers open the taught way (the base model: "
          f"{sum(a.lower().startswith('ahoy') for a in before)}/{len(HELD_OUT)})")
    print("result files:", ", ".join(client.files.retrieve(f).filename for f in job.result_files))
    assert taught == len(HELD_OUT), "the fine-tuned model did not learn the reply format"
