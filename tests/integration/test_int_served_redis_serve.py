"""``geobp serve`` on Redis + PostgreSQL (no embedded worker): the missing starter set is queued
on Redis at start, for a separate ``geobp worker`` (test_int_served_registry.py shows a real
worker training and registering such a queued set); until then ``/invert`` answers 503."""

from __future__ import annotations

import json

import redis
from served import Served, assert_not_ready

from worker.queues import TRAIN_QUEUE


def test_serve_on_redis_queues_the_starter_set(tmp_path, postgres_url, redis_url):
    client = redis.Redis.from_url(redis_url)
    client.delete(TRAIN_QUEUE)
    server = Served(
        tmp_path / "var", {"GEOBP_BROKER_URL": redis_url, "GEOBP_DATABASE_URL": postgres_url}
    )
    server.start()
    try:
        assert_not_ready(server)
        messages = [json.loads(raw) for raw in client.lrange(TRAIN_QUEUE, 0, -1)]
        tasks = [m["headers"]["task"] for m in messages]
        assert tasks == ["geobp.train_served"], server.log_tail()
        assert "training the served networks" in server.log_tail()
    finally:
        server.stop()
        client.delete(TRAIN_QUEUE)
        client.close()
