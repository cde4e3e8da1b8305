"""Property-based fuzzing of the routes that read files a caller made (item 2, 4 and 8 of the second hardening
round): model registration over folders and GGUF files generated case by case (configs and safetensors
headers of random shape, length, depth and content, FIFOs, sparse files, links), and fine-tuning files
(random JSON lines, deep nesting, lone surrogates, huge lines) uploaded and used to create jobs. At least
2,000 cases a run; no answer may be a 5xx, every error is the OpenAI envelope, and ``GET /v1/models`` stays
200 after every registration."""

from __future__ import annotations

import collections
import itertools
import json
import os
import shutil
import struct
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from llmaas.providers.huggingface import HuggingFaceProvider
from llmaas.server.app import create_app
from llmaas.server.state import ServerConfig
from llmaas.store import Store

from .conftest import CHAT, without_lifespan

CASES = 1000  # per test: two tests, so every run tries 2,000 cases (and sends about 5,000 requests)
HOME = tempfile.mkdtemp(prefix="llmaas-fuzz-files-", dir=os.environ.get("LLMAAS_HOME"))
ROOT = os.path.join(HOME, "model-dir")
os.makedirs(ROOT)
STORE = Store(os.path.join(HOME, "home"))
ADMIN = STORE.create_key("admin", role="admin")[1]
USER = STORE.create_key("user")[1]
PROVIDER = HuggingFaceProvider(allow_paths=False, progress=False, model_dirs=[ROOT], max_engines=1)
APP = create_app(PROVIDER, STORE, ServerConfig(warm_up=False))
APP.state.llmaas.ready = True
APP.state.llmaas.jobs.kick = lambda: None  # jobs stay queued: the fuzz tests the routes, not training
SENT: list[int] = []
FOLDERS = itertools.count()


served = without_lifespan(APP)


CLIENT = TestClient(served)


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    CLIENT.close()
    STORE.close()
    shutil.rmtree(HOME, ignore_errors=True)


def checked(response):
    SENT.append(response.status_code)
    assert response.status_code < 500, f"{response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        error = response.json().get("error")
        assert isinstance(error, dict) and {"message", "type", "param", "code"} <= error.keys()
        assert isinstance(error["message"], str) and error["message"]
    return response


def as_(key):
    return {"Authorization": f"Bearer {key}"}


# -- model folders and GGUF files ----------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)
dims = st.integers(-3, 2**40) | st.text(max_size=3) | st.floats(allow_nan=False)
tensors = st.dictionaries(
    st.text(min_size=1, max_size=12),
    st.fixed_dictionaries({"dtype": st.sampled_from(["F32", "BF16", "I8", "Q4", "", "F64"]) | st.text(max_size=4),
                           "shape": st.lists(dims, max_size=5) | json_values,
                           "data_offsets": st.lists(st.integers(-8, 2**40), max_size=3) | json_values}),
    max_size=4)
configs = st.one_of(
    st.fixed_dictionaries({"model_type": st.sampled_from(["llama", "gpt2", "bert", "qwen2", "nope"])}, optional={
        "architectures": json_values, "max_position_embeddings": json_values, "torch_dtype": json_values}),
    json_values,
).map(lambda c: json.dumps(c).encode()) | st.binary(max_size=64) | st.integers(1, 60_000).map(
    lambda depth: b"[" * depth + b"]" * depth)


@st.composite
def safetensors_files(draw):
    header = json.dumps(draw(tensors)).encode()
    declared = draw(st.sampled_from([len(header), 0, 1, 2**62, 2**64 - 1, len(header) + 5]) | st.integers(0, 2**64 - 1))
    data = draw(st.binary(max_size=64))
    return struct.pack("<Q", declared) + header + data


@st.composite
def model_folders(draw):
    """A folder under the allowed root, made now, with files drawn from hostile shapes."""
    folder = os.path.join(ROOT, f"m{next(FOLDERS)}")
    os.makedirs(folder)
    special = draw(st.sampled_from(["", "", "", "fifo-weights", "fifo-config", "sparse-weights", "sparse-config",
                                    "link-out", "link-dir", "no-weights"]))
    with open(os.path.join(folder, "config.json"), "wb") as f:
        f.write(draw(configs))
    if draw(st.booleans()):
        with open(os.path.join(folder, "tokenizer_config.json"), "wb") as f:
            f.write(draw(configs))
    if special != "no-weights":
        with open(os.path.join(folder, "model.safetensors"), "wb") as f:
            f.write(draw(safetensors_files()))
    if special == "fifo-weights":
        os.unlink(os.path.join(folder, "model.safetensors"))
        os.mkfifo(os.path.join(folder, "model.safetensors"))
    elif special == "fifo-config":
        os.unlink(os.path.join(folder, "config.json"))
        os.mkfifo(os.path.join(folder, "config.json"))
    elif special.startswith("sparse"):
        os.truncate(os.path.join(folder, "model.safetensors" if special == "sparse-weights" else "config.json"),
                    50 * 2**30)
    elif special == "link-out":
        os.symlink("/etc/hostname", os.path.join(folder, "extra.safetensors"))
    elif special == "link-dir":
        os.symlink(ROOT, os.path.join(folder, "loop"))
    return folder


@st.composite
def gguf_files(draw):
    path = os.path.join(ROOT, f"g{next(FOLDERS)}.gguf")
    head = struct.pack("<4sIQQ", draw(st.sampled_from([b"GGUF", b"GGUF", b"GGML"])), draw(st.sampled_from([2, 3, 1, 99])),
                       draw(st.integers(0, 2**64 - 1)), draw(st.sampled_from([0, 1, 3]) | st.integers(0, 2**64 - 1)))
    kvs = b""
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from([b"general.architecture", b"tokenizer.ggml.tokens", b"x"]))
        kvs += struct.pack("<Q", draw(st.sampled_from([len(key), 2**63]))) + key
        kind = draw(st.integers(0, 13))
        kvs += struct.pack("<I", kind)
        if kind == 9:
            kvs += struct.pack("<IQ", draw(st.integers(0, 13)), draw(st.integers(0, 2**64 - 1)))
        elif kind == 8:
            text = draw(st.sampled_from([b"llama", b"bert", b"gpt2"]) | st.binary(max_size=8))
            kvs += struct.pack("<Q", len(text)) + text
        kvs += draw(st.binary(max_size=16))
    with open(path, "wb") as f:
        f.write(head + kvs + draw(st.binary(max_size=32)))
    return path


names = st.sampled_from(["fuzzed", "x", CHAT, "a" * 65, "../etc", ""]) | st.text(max_size=70)
paths = model_folders() | gguf_files() | st.sampled_from([ROOT, "/etc/passwd", "/dev/zero", "relative/path", "",
                                                          "/proc/self/fd/0", ROOT + "/../.."]) | st.text(max_size=40)


@settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(name=names, path=paths, body_kind=st.sampled_from(["ok", "ok", "ok", "wrong-types", "extra"]))
def test_registering_hostile_model_files_is_never_a_5xx(name, path, body_kind):
    body = {"name": name, "path": path}
    if body_kind == "wrong-types":
        body = {"name": [name], "path": {"p": path}}
    elif body_kind == "extra":
        body = {**body, "engine": "compact", "force": True}
    before = _listed()
    r = checked(CLIENT.post("/v1/models", json=body, headers=as_(ADMIN)))
    try:
        after = _listed()
        if r.status_code == 200:
            assert after == before | {r.json()["id"]}
        else:
            assert after == before  # a refusal stored nothing
    finally:  # each case leaves the registry as it found it, so that no case's outcome depends on another's
        if r.status_code == 200:
            deleted = checked(CLIENT.delete(f"/v1/models/{r.json()['id']}", headers=as_(ADMIN),
                                            params={"force": "true"}))
            assert deleted.status_code == 200, deleted.text
            assert _listed() == before


def _listed() -> set[str]:
    listed = checked(CLIENT.get("/v1/models", headers=as_(USER)))
    assert listed.status_code == 200
    return {m["id"] for m in listed.json()["data"]}


# -- fine-tuning files ---------------------------------------------------------------------------------

texts = st.text(max_size=30) | st.sampled_from(["\ud800", "\udfff x", "\x00", "x" * 300_000])
messages = st.lists(st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "tool", "robot"]) | st.text(max_size=5),
     "content": texts | json_values}, optional={"weight": st.sampled_from([0, 1, 2, "1", None])}),
    max_size=6) | st.integers(250, 400).map(lambda n: [{"role": "user", "content": "q"}] * n
                                            + [{"role": "assistant", "content": "a"}])
rows = st.one_of(
    st.fixed_dictionaries({"messages": messages}, optional={"tools": json_values}),
    st.fixed_dictionaries({"prompt": texts | json_values, "completion": texts | json_values}),
    json_values,
).map(json.dumps) | st.integers(30, 60_000).map(lambda d: "[" * d + "]" * d) | st.text(max_size=40)
GOOD = json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]})


@settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(lines=st.lists(rows, min_size=0, max_size=4), good=st.integers(0, 12),
       model=st.sampled_from([CHAT, CHAT, "all-minilm-l6-v2", "ft:x:y:z", "nope", "/etc"]))
def test_hostile_training_files_are_never_a_5xx(lines, good, model):
    content = "\n".join([GOOD] * good + lines).encode("utf-8", "surrogatepass")
    upload = checked(CLIENT.post("/v1/files", headers=as_(USER), files={"file": ("t.jsonl", content)},
                                 data={"purpose": "fine-tune"}))
    if upload.status_code != 200:
        return
    file_id = upload.json()["id"]
    job = checked(CLIENT.post("/v1/fine_tuning/jobs", headers=as_(USER),
                              json={"model": model, "training_file": file_id, "validation_file": file_id}))
    if job.status_code == 200:
        job_id = job.json()["id"]
        checked(CLIENT.post(f"/v1/fine_tuning/jobs/{job_id}/cancel", headers=as_(USER)))
        checked(CLIENT.get(f"/v1/fine_tuning/jobs/{job_id}/events", headers=as_(USER)))
    checked(CLIENT.delete(f"/v1/files/{file_id}", headers=as_(USER)))


def test_the_fuzz_run_was_large_enough():
    print(f"fuzz: {len(SENT)} requests, statuses {sorted(collections.Counter(SENT).items())}")
    assert len(SENT) >= 2 * CASES, f"only {len(SENT)} requests"
