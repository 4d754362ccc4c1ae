"""A local HTTP server that answers like Twilio's Messages API and keeps what it was sent."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from tests.smtp import free_port

ACCOUNT_SID = "AC00000000000000000000000000000000"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
FROM = "+447700900000"


@dataclass(frozen=True)
class Received:
    path: str
    account: str
    token: str
    form: dict[str, str]


class SmsServer:
    """Accepts POSTs to /2010-04-01/Accounts/<sid>/Messages.json; `status` makes it answer with an error."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.status = 201
        self.stolen: list[str] = []  # requests that followed a redirect (they would carry the auth token)
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self) -> dict[str, object]:
        return {"SMS_ENABLED": True, "SMS_ACCOUNT_SID": ACCOUNT_SID, "SMS_AUTH_TOKEN": AUTH_TOKEN,
                "SMS_FROM": FROM, "SMS_BASE_URL": self.base_url, "SMS_TIMEOUT": 5}

    def start(self) -> SmsServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the standard library's name
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
                credentials = base64.b64decode(encoded).decode() if scheme == "Basic" else ":"
                account, _, token = credentials.partition(":")
                if self.path.startswith("/elsewhere"):
                    owner.stolen.append(self.headers.get("Authorization") or "")
                    self._answer(201, {"sid": "SMstolen"})
                    return
                if 300 <= owner.status < 400:
                    self.send_response(owner.status)
                    self.send_header("Location", f"{owner.base_url}/elsewhere")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if owner.status >= 400:
                    self._answer(owner.status, {"code": 21211, "message": "refused"})
                    return
                owner.received.append(Received(self.path, account, token, form))
                self._answer(201, {"sid": f"SM{len(owner.received):032d}", "status": "queued"})

            def _answer(self, status: int, body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
