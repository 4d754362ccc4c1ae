"""Hostile bodies and query strings to every route, as every role: a clear answer, never a 500.

JSON of odd shapes, multipart with a file, form bodies with lone surrogates
and bytes that are not UTF-8, and query strings with parameters no page
declares, all with a valid CSRF token so that they reach the request guard and
the views. A malformed chunked body needs a real HTTP server: it is sent to
gunicorn in production mode.
"""

from __future__ import annotations

import io
import socket

import pytest

from tests.conftest import csrf_token_from
from tests.processes import Browser, cli, production_env, web
from tests.security.test_isolation import ROLES, concrete_urls
from tests.smtp import free_port

HOSTILE_QUERIES = [
    "before=%C2%B2&until=9999-12-31&since=0000-00-00&endpoint=x&_method=DELETE&action=a%20b&next=%2F%2Fevil.example"
    "&q=%ED%A0%80&page=-1&x=%FF%FE",
    "action=%00&q=%00",
    "q=" + "%F0%9F%98%80" * 30 + "&since=" + "9" * 40,
]
JSON_BODIES = ['"x"', "1", "-1e999", '"\\ud800"', "[" * 2000 + "]" * 2000, '{"email": {"$ne": null}}', "{", ""]
RAW_FORMS = [b"email=%ED%A0%80&password=%ED%B0%80&code=%ED%A0%80%ED%B0%80",
             b"email=\xff\xfe@x.example&password=\xc3&first_name=\xed\xa0\x80",
             b"email=a%00b&password=x", b"=&&==&email", b"%"]


def bodies(token: str) -> list[dict]:
    """Keyword arguments for `client.post`, each one hostile body."""
    headers = {"X-CSRFToken": token}
    found = [dict(data=body, content_type="application/json", headers=headers) for body in JSON_BODIES]
    found += [dict(data=body + f"&csrf_token={token}".encode(), content_type="application/x-www-form-urlencoded")
              for body in RAW_FORMS]
    found.append(dict(data={"csrf_token": token, "email": "a@b.example", "file": (io.BytesIO(b"<script>"), "x.html"),
                            "password": "\ud800".encode("utf-8", "surrogatepass")},
                      content_type="multipart/form-data"))
    found.append(dict(data=b"--x\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nunterminated",
                      content_type="multipart/form-data; boundary=x", headers=headers))
    return found


def signed_in(client, auth, people, who) -> str:
    """Sign `who` in again if a route signed them out; the CSRF token of the session."""
    if who and client.get("/account/").status_code != 200:
        auth.login(people[who])
    return csrf_token_from(client.get("/account/login" if who is None else "/account/").get_data(as_text=True))


@pytest.mark.parametrize("who", ROLES)
def test_no_hostile_request_gets_a_500(app, auth, client, people, who):
    throttle = app.extensions["throttle"]
    failures = []
    token = signed_in(client, auth, people, who)
    for url in concrete_urls(app, "GET", people):
        for query in HOSTILE_QUERIES:
            status = client.get(f"{url}?{query}").status_code
            if status >= 500:
                failures.append(f"GET {url}?{query} -> {status}")
    posts = sorted(concrete_urls(app, "POST", people), key=lambda url: "logout" in url)
    for url in posts:
        for body in bodies(token):
            throttle.reset()
            status = client.post(url, **body).status_code
            if status >= 500:
                failures.append(f"POST {url} {body.get('content_type')} {str(body['data'])[:40]!r} -> {status}")
            if "logout" not in url:  # signing out ends the walk: those routes come last
                token = signed_in(client, auth, people, who)
    assert failures == []


def raw_request(port: int, head: str, body: bytes) -> int:
    """Send bytes as they are (no client library would send a malformed chunk); the status code."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head.encode() + b"\r\n" + body)
        connection.shutdown(socket.SHUT_WR)  # the body ends here, complete or not
        answer = b""
        while b"\r\n" not in answer:
            part = connection.recv(4096)
            if not part:
                break
            answer += part
    return int(answer.split(b" ", 2)[1])


def test_malformed_chunked_bodies_get_400_from_gunicorn(databases, tmp_path, app):
    env = production_env(databases, tmp_path, free_port())
    app.extensions["mail_worker"].stop()
    cli(env, "db", "upgrade")
    port, log = free_port(), tmp_path / "web.log"
    with web(env, port, log):
        anonymous = Browser(port)
        token = csrf_token_from(anonymous.request("GET", "/account/login")[2])
        cookie = "; ".join(f"{k}={v}" for k, v in anonymous.cookies.items())
        statuses = {}
        for url in concrete_urls(app, "POST"):
            for chunks in (b"zz\r\nabc\r\n0\r\n\r\n", b"5\r\nab", b"-1\r\n\r\n", b"ffffffffffffffffff\r\nx\r\n"):
                head = (f"POST {url} HTTP/1.1\r\nHost: trust.example\r\nX-Forwarded-Proto: https\r\n"
                        f"Referer: https://trust.example/\r\nCookie: {cookie}\r\nX-CSRFToken: {token}\r\n"
                        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
                        "Connection: close\r\n")
                statuses[(url, chunks)] = raw_request(port, head, chunks)
    assert {key: status for key, status in statuses.items() if status != 400} == {}
    assert "Traceback" not in log.read_text()
