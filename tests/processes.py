"""Production processes for tests: keys, environment, gunicorn and the worker, and a cookie-keeping client."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import PROJECT_ROOT, csrf_token_from

BIN = Path(sys.executable).parent


def production_env(databases, tmp_path: Path, smtp_port: int) -> dict[str, str]:
    signing_dir = str(tmp_path / "instance" / "keys")  # the document-signing CA and certificate go here
    keys = subprocess.run([BIN / "trustcenter", "keys", "generate", "--signing-dir", signing_dir],
                          capture_output=True, text=True, check=True,
                          env={**os.environ, "TRUSTCENTER_INSTANCE_PATH": str(tmp_path / "dev")}).stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRUSTCENTER_", "FLASK_"))}
    env.update(line.split("=", 1) for line in keys.split())
    env.update({
        "TRUSTCENTER_ENV": "production", "TRUSTCENTER_SECRET_KEY": "s" * 20 + os.urandom(16).hex(),
        "TRUSTCENTER_SITE_URL": "https://trust.example", "TRUSTCENTER_TRUST_PROXY": "1",
        "TRUSTCENTER_DATABASE_URL": databases.url, "TRUSTCENTER_KEYSTORE_URL": databases.keystore_url,
        "TRUSTCENTER_INSTANCE_PATH": str(tmp_path / "instance"), "TRUSTCENTER_KEY_CACHE_SECONDS": "0",
        "TRUSTCENTER_SMTP_HOST": "127.0.0.1", "TRUSTCENTER_SMTP_PORT": str(smtp_port),
        "TRUSTCENTER_SMTP_STARTTLS": "0",
    })
    return env


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([BIN / "trustcenter", *args], env=env, input=stdin, capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("ab") as out:
        proc = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def web(env: dict[str, str], port: int, log: Path, workers: int = 2) -> Iterator[None]:
    command = [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    with process(command, env, log):
        deadline = time.monotonic() + 30
        while not healthy(port):
            if time.monotonic() > deadline:
                pytest.fail("gunicorn did not start:\n" + log.read_text())
            time.sleep(0.2)
        yield


def healthy(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


class Browser:
    """Cookies and CSRF tokens by hand: the cookie is Secure and the server is behind a 'proxy'."""

    def __init__(self, port: int, forwarded_for: str | None = None) -> None:
        self.port = port
        self.forwarded_for = forwarded_for  # the client address the "proxy" reports
        self.cookies: dict[str, str] = {}
        self.statuses: list[int] = []
        self.body = b""

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        # Over HTTPS, the CSRF check also wants a same-origin Referer, as browsers send.
        headers = {"X-Forwarded-Proto": "https", "Host": "trust.example", "Referer": "https://trust.example/"}
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        self.body = response.read()  # the bytes, for downloads
        text = self.body.decode(errors="replace")
        connection.close()
        self.statuses.append(response.status)
        return response.status, response.getheader("Location") or "", text

    def submit(self, page: str, action: str, form: dict[str, str]) -> tuple[int, str, str]:
        token = csrf_token_from(self.request("GET", page)[2])
        return self.request("POST", action, {**form, "csrf_token": token})


def wait_for_mail(mailbox, count: int, timeout: float = 30) -> list:
    deadline = time.monotonic() + timeout
    while len(mailbox.messages) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return list(mailbox.messages)
