"""Text messages through Twilio's Messages REST API (or anything that speaks it, such as a test server).

POST {base}/2010-04-01/Accounts/{sid}/Messages.json with `To`, `From` and `Body`,
HTTP Basic auth with the account SID and auth token. Nothing here is logged:
numbers and texts are personal data, the token a secret.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

MAX_BODY = 320  # two SMS segments: enough for the title and the link


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would carry the auth token to wherever it points: treat it as an error instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class SmsError(Exception):
    """The message was not accepted; `permanent` when sending it again cannot help."""

    def __init__(self, summary: str, permanent: bool = False) -> None:
        super().__init__(summary)
        self.permanent = permanent


class SmsSender(Protocol):
    def send(self, to: str, body: str) -> str:
        """Hand the message over and return the provider's id for it, or raise SmsError."""


@dataclass(frozen=True)
class TwilioSender:
    base_url: str
    account_sid: str
    auth_token: str = field(repr=False)
    sender: str
    timeout: float = 10

    def send(self, to: str, body: str) -> str:
        url = (f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{urllib.parse.quote(self.account_sid)}"
               "/Messages.json")
        data = urllib.parse.urlencode({"To": to, "From": self.sender, "Body": body[:MAX_BODY]}).encode()
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request = urllib.request.Request(url, data=data, method="POST", headers={
            "Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json"})
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:  # http(s) only (config checks the URL)
                answer: dict[str, Any] = json.loads(response.read(64 * 1024) or b"{}")
        except urllib.error.HTTPError as error:
            error.close()  # it holds the connection
            # 3xx (a misconfigured address) and 4xx (a bad number, a refused sender) will not get better;
            # 429 and 5xx may.
            raise SmsError(f"HTTP {error.code}", permanent=error.code < 500 and error.code != 429) from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise SmsError(type(error).__name__) from None
        return str(answer.get("sid") or "")


def make_sender(config: Mapping[str, Any]) -> SmsSender | None:
    """The sender the settings ask for; None when SMS is off (the default)."""
    if not config.get("SMS_ENABLED"):
        return None
    return TwilioSender(config["SMS_BASE_URL"], config["SMS_ACCOUNT_SID"], config["SMS_AUTH_TOKEN"],
                        config["SMS_FROM"], float(config.get("SMS_TIMEOUT") or 10))
