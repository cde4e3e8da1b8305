"""`llmaas fine-tune`: create with --wait follows the job with a progress line per step and prints the model
id; list, show and events read it back; cancelling a finished job fails with the reason; a missing file
or an unknown model is refused before anything is stored. In process on a home, and against a server."""

import json
import subprocess
import sys
from pathlib import Path

import openai

from .conftest import CHAT, ServerProcess

DATA = Path(__file__).resolve().parents[2] / "examples" / "data" / "pirate_train.jsonl"


def llmaas(home, *args, env=None):
    return subprocess.run([sys.executable, "-m", "llmaas.cli", "--home", str(home), *args], capture_output=True,
                          text=True, timeout=600, env=env)


def test_the_readme_fine_tune_command(tmp_path):
    readme = (DATA.parents[2] / "README.md").read_text()
    command = next(line for line in readme.splitlines() if line.startswith("llmaas fine-tune create"))
    out = subprocess.run([sys.executable, "-m", "llmaas.cli", "--home", str(tmp_path), *command.split()[1:]],
                         capture_output=True, text=True, timeout=600, cwd=DATA.parents[2])
    assert out.returncode == 0, out.stderr[-2000:]
    job_id, model = out.stdout.split()
    assert model == f"ft:{CHAT}:llmaas:{job_id}"
    progress = [line for line in out.stderr.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in progress] == [f"{i}/10" for i in range(1, 11)]


def test_the_fine_tune_commands_in_process(tmp_path):
    out = llmaas(tmp_path, "fine-tune", "create", str(DATA), "--model", CHAT, "--epochs", "1", "--batch-size", "8",
                 "--suffix", "cli", "--wait")
    assert out.returncode == 0, out.stderr[-2000:]
    job_id, model = out.stdout.split()
    assert model == f"ft:{CHAT}:cli:{job_id}"
    progress = [line for line in out.stderr.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in progress] == [f"{i}/5" for i in range(1, 6)]
    assert all(" tok/s" in line and "loss " in line for line in progress)
    assert job_id in llmaas(tmp_path, "fine-tune", "list").stdout
    shown = json.loads(llmaas(tmp_path, "fine-tune", "show", job_id).stdout)
    assert shown["status"] == "succeeded" and shown["fine_tuned_model"] == model
    events = llmaas(tmp_path, "fine-tune", "events", job_id).stdout.splitlines()
    assert "Fine-tuning job created and queued" in events[0] and "successfully completed" in events[-1]
    refused = llmaas(tmp_path, "fine-tune", "cancel", job_id)
    assert refused.returncode == 1 and "has already succeeded" in refused.stderr
    missing = llmaas(tmp_path, "fine-tune", "create", str(tmp_path / "nope.jsonl"), "--model", CHAT)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    unknown = llmaas(tmp_path, "fine-tune", "create", str(DATA), "--model", "no-such-model")
    assert unknown.returncode == 1 and "no-such-model" in unknown.stderr
    assert len(llmaas(tmp_path, "fine-tune", "list").stdout.splitlines()) == 1  # the refused one stored nothing
    import llmaas as sdk

    with sdk.Client(provider_options={"hf": {"home": str(tmp_path)}}) as client:
        assert [f.purpose for f in client.files.list()].count("fine-tune") == 1  # its upload was removed


def test_the_fine_tune_commands_against_a_server(tmp_path):
    server = ServerProcess(tmp_path / "server").start()
    try:
        key = server.cli("keys", "create", "tuner").strip().splitlines()[-1]
        env = {**server.env, "LLMAAS_API_KEY": key}
        out = llmaas(tmp_path / "elsewhere", "fine-tune", "--base-url", server.base_url, "create", str(DATA),
                     "--model", CHAT, "--epochs", "1", "--batch-size", "20", "--wait", env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        job_id, model = out.stdout.split()
        oai = openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
        assert oai.fine_tuning.jobs.retrieve(job_id).fine_tuned_model == model
        assert oai.chat.completions.create(model=model, max_tokens=3, messages=[{"role": "user", "content": "Hi"}])
    finally:
        server.stop()
