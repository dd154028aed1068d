"""Training jobs through the API and the real Celery tasks run in-process (eager ``apply``) on the
real store: chunks, training, registration, idempotence, cancellation, recovery."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from svc_helpers import FM_SPEC, job_spec

from service.models import DatasetChunk, Network, TrainingJob


def _submit(client, auth, **overrides) -> dict:
    response = client.post("/api/v1/training-jobs", json=job_spec(**overrides), headers=auth)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def _task(app, name: str):
    return app.extensions["geobp_celery"].tasks[name]


def _job(app, job_id: str) -> TrainingJob:
    with app.extensions["geobp_db"].session() as session:
        return session.get(TrainingJob, job_id)


def test_submit_fills_defaults_and_queues_chunk_tasks(app, client, auth, settings) -> None:
    body = _submit(client, auth, n_samples=25_000)
    assert body["status"] == "queued" and body["progress"] == {"stage": "queued", "fraction": 0.0}
    assert body["spec"]["sampler"] == "sobol" and body["spec"]["noise"]["rho_a_rel"] == 0.03
    assert body["links"]["self"] == f"/api/v1/training-jobs/{body['id']}"
    job = _job(app, body["id"])
    assert job.n_chunks == 3 and len(job.task_ids) == 3
    queued = list((settings.var_dir / "broker" / "queue").glob("*.msg"))
    assert len(queued) == 3  # one message per chunk on the embedded broker
    listed = client.get("/api/v1/training-jobs?status=queued").get_json()["items"]
    assert [item["id"] for item in listed] == [body["id"]]


def test_cancel_queued_job_then_conflict(app, client, auth) -> None:
    job_id = _submit(client, auth)["id"]
    response = client.delete(f"/api/v1/training-jobs/{job_id}", headers=auth)
    assert response.status_code == 202 and response.get_json()["status"] == "cancelled"
    again = client.delete(f"/api/v1/training-jobs/{job_id}", headers=auth)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    _task(app, "geobp.generate_chunk").apply(args=(job_id, 1, 0))
    assert _job(app, job_id).status == "cancelled"  # a late chunk task does nothing


def test_chunks_train_register_and_rerun_is_idempotent(app, client, auth) -> None:
    import forward_models

    job_id = _submit(client, auth, n_samples=1200, n_chunks=2, seed=7)["id"]
    for index in range(2):
        _task(app, "geobp.generate_chunk").apply(args=(job_id, 1, index))
    with app.extensions["geobp_db"].session() as session:
        paths = [Path(c.path) for c in session.query(DatasetChunk).order_by(DatasetChunk.index)]
    assert _job(app, job_id).stage == "train"
    fm = forward_models.from_dict(FM_SPEC)
    whole = forward_models.generate_dataset(
        fm,
        forward_models.ModelSpace.for_forward_model(fm),
        1200,
        seed=7,
        noise=forward_models.NoiseModel(rho_a_rel=0.03),
    )
    chunks = [np.load(path, allow_pickle=False) for path in paths]
    np.testing.assert_array_equal(np.concatenate([c["models"] for c in chunks]), whole.models)
    # the forward solver's result depends on the batch at the 1e-6 level (reported upstream)
    np.testing.assert_allclose(np.concatenate([c["data"] for c in chunks]), whole.data, rtol=1e-5)
    # the same chunk of an identical job is bit-identical; a repeated chunk task is a no-op
    twin_id = _submit(client, auth, n_samples=1200, n_chunks=2, seed=7)["id"]
    _task(app, "geobp.generate_chunk").apply(args=(twin_id, 1, 1))
    twin = app.extensions["geobp_celery"].geobp_store.chunk_path(twin_id, 1)
    with np.load(twin, allow_pickle=False) as a, np.load(paths[1], allow_pickle=False) as b:
        for key in ("models", "data"):
            np.testing.assert_array_equal(a[key], b[key])
    mtime = paths[1].stat().st_mtime_ns
    _task(app, "geobp.generate_chunk").apply(args=(job_id, 1, 1))
    assert paths[1].stat().st_mtime_ns == mtime and _job(app, job_id).stage == "train"

    network_id = _task(app, "geobp.train").apply(args=(job_id, 1)).get()
    body = client.get(f"/api/v1/training-jobs/{job_id}").get_json()
    assert body["status"] == "succeeded" and body["network_id"] == network_id
    assert body["progress"]["fraction"] == 1.0
    assert body["links"]["network"] == f"/api/v1/networks/{network_id}"
    assert not paths[0].parent.exists()  # chunks cleaned up
    net = client.get(f"/api/v1/networks/{network_id}").get_json()
    assert net["lineage"]["job_id"] == job_id and net["lineage"]["n_samples"] == 1200
    assert net["metrics"]["held_out_loss"] == net["metrics"]["val_loss"] > 0
    assert set(net["domain"]) == {"rho1", "rho2", "rho3", "h1", "h2"}

    assert _task(app, "geobp.train").apply(args=(job_id, 1)).get() == network_id
    with app.extensions["geobp_db"].session() as session:
        assert session.query(Network).filter_by(job_id=job_id).count() == 1


def test_cancel_between_epochs_registers_nothing(app, client, auth) -> None:
    job_id = _submit(client, auth, n_samples=1000, n_chunks=1)["id"]
    _task(app, "geobp.generate_chunk").apply(args=(job_id, 1, 0))
    with app.extensions["geobp_db"].session() as session:
        session.get(TrainingJob, job_id).cancel_requested = True
    _task(app, "geobp.train").apply(args=(job_id, 1))
    assert _job(app, job_id).status == "cancelled"
    with app.extensions["geobp_db"].session() as session:
        assert session.query(Network).count() == 0


def test_stale_attempt_message_is_ignored(app, client, auth) -> None:
    job_id = _submit(client, auth, n_samples=1000, n_chunks=1)["id"]
    _task(app, "geobp.generate_chunk").apply(args=(job_id, 3, 0))  # not the job's attempt
    job = _job(app, job_id)
    assert (job.status, job.stage) == ("queued", "queued")


def test_reclaim_lost_worker_then_give_up(app, client, auth) -> None:
    store = app.extensions["geobp_celery"].geobp_store
    job_id = _submit(client, auth, n_samples=1000, n_chunks=1)["id"]
    assert store.mark_running(job_id, 1, "train", "w1@host")
    now = datetime.now(timezone.utc)
    assert store.reclaim_lost_jobs("other@host", now) == []  # fresh heartbeat, other worker
    reclaimed = store.reclaim_lost_jobs("w1@host", now)
    assert [(r.job_id, r.attempt, r.stage) for r in reclaimed] == [(job_id, 2, "train")]
    job = _job(app, job_id)
    assert job.status == "queued" and "w1@host was lost" in job.retry_reasons[-1]
    for attempt in (2, 3):
        assert store.mark_running(job_id, attempt, "train", "w1@host")
        later = now + timedelta(seconds=app.config["GEOBP"].job_stale_after_s + 1)
        store.reclaim_lost_jobs(None, later)
    job = _job(app, job_id)
    assert job.status == "failed" and job.error.startswith("gave up after 3 attempts")
    assert len(job.retry_reasons) == 3


def test_a_training_that_fails_after_a_cancel_request_ends_cancelled(app, client, auth) -> None:
    job_id = _submit(client, auth, n_samples=1000, n_chunks=1)["id"]
    _task(app, "geobp.generate_chunk").apply(args=(job_id, 1, 0))
    with app.extensions["geobp_db"].session() as session:
        for chunk in session.query(DatasetChunk).filter_by(job_id=job_id):
            Path(chunk.path).unlink()  # the training will now raise
        session.get(TrainingJob, job_id).cancel_requested = True
    _task(app, "geobp.train").apply(args=(job_id, 1))
    job = _job(app, job_id)
    assert job.status == "cancelled" and not job.error
