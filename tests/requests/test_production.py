"""Requests the way they run: gunicorn with two workers and `trustcenter worker` as production processes, keys
cold, the web restarted between rounds. Mail reaches a real SMTP server from the worker; nothing answers 500."""

from __future__ import annotations

import re
import time

from tests.processes import BIN, Browser, cli, process, production_env, web
from tests.smtp import free_port

PASSWORD = "a long production passphrase"


def mails_to(mailbox, address: str, subject_part: str) -> list:
    return [m for m in mailbox.messages if str(m["To"]) == address and subject_part in subject(m)]


def test_requests_with_and_without_an_account_in_production_processes(databases, tmp_path, smtp_server, app):
    env = production_env(databases, tmp_path, smtp_server.port)
    app.extensions["mail_worker"].stop()  # the test app only prepared and will empty the databases
    cli(env, "db", "upgrade")
    cli(env, "orgs", "create", "Northwind Analytics Ltd")
    cli(env, "users", "create", "--email", "tom@northwind.example", "--role", "customer_member",
        "--org", "Northwind Analytics Ltd", "--first-name", "Tom", "--password-stdin", stdin=PASSWORD + "\n")
    port, log = free_port(), tmp_path / "processes.log"
    mailbox = smtp_server.mailbox
    with process([str(BIN / "trustcenter"), "worker", "--poll", "0.2"], env, log):
        for round_number in range(2):  # the second round runs after a restart of the web process
            with web(env, port, log):
                customer = Browser(port)
                status, _, _ = customer.submit("/account/login", "/account/login",
                                               {"email": "tom@northwind.example", "password": PASSWORD})
                assert status == 303
                status, location, _ = customer.submit("/account/requests/new?kind=query",
                                                      "/account/requests/new?kind=query",
                                                      {"question": f"Question {round_number}"})
                assert status == 303 and "/account/requests/" in location, location
                assert customer.request("GET", location.replace("https://trust.example", ""))[0] == 200

                stranger = Browser(port)
                address = f"prospect{round_number}@elsewhere.example"
                status, _, text = stranger.submit("/requests/new?kind=access", "/requests/new?kind=access",
                                                  {"name": "Pat", "email": address})
                assert status == 200 and "Check your mail" in text
                [confirmation] = wait_and_find(mailbox, address, "Confirm your request")
                path = re.search(r"https://trust\.example(/requests/confirm/\S+)",
                                 confirmation.get_body(("plain",)).get_content()).group(1)
                status, location, _ = stranger.submit(path, path, {})
                assert status == 303 and "/requests/" in location
                assert stranger.request("GET", location.replace("https://trust.example", ""))[0] == 200
                assert 500 not in customer.statuses + stranger.statuses
            wait_and_find(mailbox, address, "We received your request")
        deadline = time.monotonic() + 30  # the worker is still running: let it deliver the rest
        while len(staff_mails(mailbox)) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
    # Two rounds, a customer's request and a confirmed stranger's in each.
    assert len(staff_mails(mailbox)) == 4, [(str(m["To"]), str(m["Subject"])) for m in mailbox.messages]
    assert len(mails_to(mailbox, "tom@northwind.example", "We received your request")) == 2
    assert all(re.search(r"https://trust\.example/staff/requests/\S+", m.get_body(("plain",)).get_content())
               for m in staff_mails(mailbox))
    assert "Traceback" not in log.read_text()


def staff_mails(mailbox) -> list:
    return [m for m in mailbox.messages if subject(m).startswith("New request")]


def subject(message) -> str:
    """The subject as a reader sees it: a long one arrives folded over lines."""
    return " ".join(str(message["Subject"]).split())


def wait_and_find(mailbox, address: str, subject_part: str, timeout: float = 30) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = mails_to(mailbox, address, subject_part)
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no mail to {address} about {subject_part!r}; got "
                         f"{[(str(m['To']), str(m['Subject'])) for m in mailbox.messages]}")
