"""Throttling counters live in Redis when TRUSTCENTER_REDIS_URL is set, so every worker shares them."""

from __future__ import annotations

import os

import pytest
import redis

from tests.conftest import csrf_token_from

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def app_config(app_config):
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    connection.close()
    return {**app_config, "REDIS_URL": REDIS_URL}


def test_login_throttle_counts_in_redis(app, client, people):
    from limits.storage import RedisStorage

    assert isinstance(app.extensions["throttle"].storage, RedisStorage)
    statuses = []
    for _ in range(11):
        page = client.get("/account/login")
        statuses.append(client.post("/account/login", data={
            "email": people["a_member"].email, "password": "wrong guess!!",
            "csrf_token": csrf_token_from(page.get_data(as_text=True))}).status_code)
    assert statuses[-1] == 429 and statuses[:10] == [422] * 10
    keys = redis.Redis.from_url(REDIS_URL).keys("*")
    assert keys, "no throttling counters in Redis"
    assert not any(people["a_member"].email.encode() in key for key in keys)  # keyed by blind index
