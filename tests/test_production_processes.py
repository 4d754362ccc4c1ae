"""The way it runs: gunicorn and `trustcenter worker` as separate production processes.

With the key cache disabled, a customer administrator invites colleagues and a
customer asks for a password reset; the web process is then restarted and
does it again. Every mail must reach a real SMTP server, sent by the worker
process, and no request may answer 500.
"""

from __future__ import annotations

import re

from tests.processes import BIN, Browser, cli, process, production_env, wait_for_mail, web
from tests.smtp import free_port

PASSWORD = "a long production passphrase"


def test_invitations_and_resets_in_production_processes_with_cold_keys(databases, tmp_path, smtp_server, app):
    env = production_env(databases, tmp_path, smtp_server.port)
    app.extensions["mail_worker"].stop()  # the test app only prepared and will empty the databases
    cli(env, "db", "upgrade")
    cli(env, "orgs", "create", "Northwind Analytics Ltd")
    cli(env, "users", "create", "--email", "Priya.Admin@Northwind.Example", "--role", "customer_admin",
        "--org", "northwind analytics ltd", "--first-name", "Priya", "--password-stdin", stdin=PASSWORD + "\n")
    port, log = free_port(), tmp_path / "processes.log"
    with process([str(BIN / "trustcenter"), "worker", "--poll", "0.2"], env, log):
        for round_number in range(2):  # the second round runs after a restart of the web process
            with web(env, port, log):
                browser = Browser(port)
                status, location, _ = browser.submit("/account/login", "/account/login", {
                    "email": " priya.admin@NORTHWIND.example ", "password": PASSWORD})
                assert status == 303 and location.endswith("/account/"), (status, location)
                for number in range(2):
                    status, _, text = browser.submit("/account/team", "/account/team", {
                        "email": f"colleague{round_number}{number}@northwind.example", "role": "customer_member"})
                    assert status == 303, text
                anonymous = Browser(port)
                status, _, _ = anonymous.submit("/account/reset", "/account/reset",
                                                {"email": "PRIYA.admin@northwind.example"})
                assert status == 200
                assert 500 not in browser.statuses + anonymous.statuses
            messages = wait_for_mail(smtp_server.mailbox, 3 * (round_number + 1))
            assert len(messages) == 3 * (round_number + 1), log.read_text()[-3000:]
    recipients = sorted(str(message["To"]) for message in smtp_server.mailbox.messages)
    assert recipients == sorted(["colleague00@northwind.example", "colleague01@northwind.example",
                                 "colleague10@northwind.example", "colleague11@northwind.example",
                                 "priya.admin@northwind.example", "priya.admin@northwind.example"])
    links = [re.search(r"https://trust\.example/account/\S+", message.get_body(("plain",)).get_content())
             for message in smtp_server.mailbox.messages]
    assert all(links), "every mail carries a link on the configured site address"
    assert "Traceback" not in log.read_text()
