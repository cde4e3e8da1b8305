"""Classify 240 support tickets offline with a batch: one chat request per ticket in a JSONL file, the
built-in model answering with one label each (a JSON schema keeps it to the four labels), then the output
file read back and scored against the labels shipped with the tickets.

The batch runs as batch work: interactive requests to the same engine would go first."""

import collections
import json
import time
from pathlib import Path

import llmaas

LABELS = ["billing", "technical", "account", "other"]
SCHEMA = {"name": "ticket", "strict": True, "schema": {
    "type": "object", "properties": {"label": {"type": "string", "enum": LABELS}},
    "required": ["label"], "additionalProperties": False}}
rows = [line.split("\t", 1) for line in
        (Path(__file__).parent / "data" / "support_tickets.tsv").read_text().splitlines() if line]
expected = {f"ticket-{i}": label for i, (label, _) in enumerate(rows)}

requests = [{"custom_id": f"ticket-{i}", "method": "POST", "url": "/v1/chat/completions", "body": {
    "model": "smollm2-135m-instruct", "temperature": 0, "max_tokens": 16,
    "response_format": {"type": "json_schema", "json_schema": SCHEMA},
    "messages": [{"role": "system", "content": "Label the support ticket: billing (payments, invoices, refunds), "
                                               "technical (errors, crashes, bugs), account (login, profile, access) "
                                               "or other."},
                 {"role": "user", "content": text}]}} for i, (_, text) in enumerate(rows)]

with llmaas.Client() as client:
    upload = client.files.create(file=("tickets.jsonl", "\n".join(map(json.dumps, requests)).encode()),
                                 purpose="batch")
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                  completion_window="24h", metadata={"example": "batch_classify"})
    print(f"batch {batch.id}: {len(requests)} requests")
    while batch.status not in ("completed", "failed", "expired", "cancelled"):
        time.sleep(1)
        batch = client.batches.retrieve(batch.id)
        if batch.request_counts is not None:
            print(f"  {batch.status}: {batch.request_counts.completed} done, {batch.request_counts.failed} failed")
    assert batch.output_file_id is not None, batch
    answers = [json.loads(line) for line in client.files.content(batch.output_file_id).decode().splitlines()]

labels = {a["custom_id"]: json.loads(a["response"]["body"]["choices"][0]["message"]["content"])["label"]
          for a in answers}
right = sum(labels[k] == expected[k] for k in labels)
print(f"{len(labels)} tickets labelled, {right} as their shipped label ({right / len(labels):.0%}); "
      f"a 135M-parameter model is a weak classifier, the batch is the point")
print("labels given:", dict(collections.Counter(labels.values())))
if batch.usage is not None:
    print(f"tokens: {batch.usage.input_tokens} in, {batch.usage.output_tokens} out")
