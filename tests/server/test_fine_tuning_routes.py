"""Fine-tuning job routes over a real store (jobs inserted directly: no training worker exists yet)."""

import json

import pytest
from fastapi.testclient import TestClient

import llmaas
from llmaas.server.app import create_app
from llmaas.server.state import ServerConfig
from llmaas.store import Store


class ModelsOnly(llmaas.BaseProvider):
    name = "models-only"
    capabilities = frozenset({llmaas.Capability.MODELS})


@pytest.fixture
def app_client(tmp_path):
    store = Store(tmp_path)
    job = {"id": "ftjob-1", "object": "fine_tuning.job", "created_at": 1, "model": "m", "status": "running",
           "training_file": "file-1", "hyperparameters": {"n_epochs": 1}, "fine_tuned_model": None,
           "finished_at": None, "error": None, "result_files": [], "organization_id": "", "trained_tokens": None,
           "validation_file": None, "seed": 1}
    app = create_app(ModelsOnly(), store, ServerConfig(warm_up=False))
    with TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 50000)) as client:  # keyless: loopback
        # rows written once the app runs: at start it fails jobs a stopped server left running
        with store.transaction() as db:
            db.execute("INSERT INTO fine_tuning_jobs (id, owner, body, status, created_at) VALUES (?, ?, ?, ?, ?)",
                       ("ftjob-1", None, json.dumps(job), "running", 1))
            for i in range(5):
                db.execute("INSERT INTO fine_tuning_events (id, job_id, seq, body) VALUES (?, ?, ?, ?)",
                           (f"ev-{i}", "ftjob-1", i, json.dumps({"id": f"ev-{i}", "object": "fine_tuning.job.event",
                                                                  "created_at": i, "level": "info", "message": f"step {i}"})))
                db.execute("INSERT INTO fine_tuning_checkpoints (id, job_id, step, body) VALUES (?, ?, ?, ?)",
                           (f"ck-{i}", "ftjob-1", i * 10, json.dumps({
                               "id": f"ck-{i}", "object": "fine_tuning.job.checkpoint", "created_at": i,
                               "fine_tuned_model_checkpoint": f"ft:m:ck{i}", "fine_tuning_job_id": "ftjob-1",
                               "metrics": {"step": i * 10}, "step_number": i * 10})))
        yield client


def test_events_and_checkpoints_page_newest_first(app_client):
    first = app_client.get("/v1/fine_tuning/jobs/ftjob-1/events", params={"limit": 2}).json()
    assert [e["id"] for e in first["data"]] == ["ev-4", "ev-3"] and first["has_more"]
    rest = app_client.get("/v1/fine_tuning/jobs/ftjob-1/events", params={"limit": 10, "after": "ev-3"}).json()
    assert [e["id"] for e in rest["data"]] == ["ev-2", "ev-1", "ev-0"] and not rest["has_more"]
    ck = app_client.get("/v1/fine_tuning/jobs/ftjob-1/checkpoints", params={"after": "ck-2"}).json()
    assert [c["step_number"] for c in ck["data"]] == [10, 0]


def test_the_sdk_walks_every_event_page(app_client, tmp_path):
    import httpx

    transport = httpx.ASGITransport(app=app_client.app, client=("127.0.0.1", 50000))
    with llmaas.Client(base_url="http://127.0.0.1/v1", http_client=httpx.AsyncClient(transport=transport)) as c:
        assert [e.id for e in c.fine_tuning.jobs.list_events("ftjob-1", limit=2)] == [f"ev-{i}" for i in (4, 3, 2, 1, 0)]
        assert c.fine_tuning.jobs.retrieve("ftjob-1").status == "running"
        assert c.fine_tuning.jobs.cancel("ftjob-1").status == "cancelled"
        with pytest.raises(llmaas.BadRequestError, match="already cancelled"):
            c.fine_tuning.jobs.cancel("ftjob-1")
        with pytest.raises(llmaas.NotFoundError):
            c.fine_tuning.jobs.retrieve("ftjob-2")
