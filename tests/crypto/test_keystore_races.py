"""Processes racing on the key store: first use of the service's keys, and two erasures of one person."""

from __future__ import annotations

import threading

from trustcenter.crypto.keystore import KeyService


def race(*calls) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(calls))

    def run(call) -> None:
        start.wait()
        try:
            call()
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_first_use_of_the_service_keys_from_many_processes_at_once(app):
    keys = app.extensions["keys"]
    # One key service per "process": none has anything cached, all start from an empty key store.
    services = [KeyService(keys.root, keys.engine, cache_seconds=0) for _ in range(6)]
    found: dict[str, set[str]] = {"audit": set(), "outbox": set()}
    calls = [lambda s=s, p=p: found[p].add(s.system_data_key(p)) for s in services for p in ("audit", "outbox")]
    assert race(*calls) == []
    assert len(found["audit"]) == 1 and len(found["outbox"]) == 1  # everyone uses the same key per purpose
    assert found["audit"] != found["outbox"]


def test_two_erasures_of_one_person_at_once(app, people, session):
    from trustcenter.accounts.models import User

    keys = app.extensions["keys"]
    key_id = session.get(User, people["a_member"].user_id).data_key_id
    services = [KeyService(keys.root, keys.engine) for _ in range(4)]
    assert race(*[lambda s=s: s.destroy_data_key(key_id) for s in services]) == []
    assert keys.is_destroyed(key_id)
