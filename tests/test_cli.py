"""The trustcenter command: migrations, content, demo data."""

from sqlalchemy import func, inspect, select

from trustcenter.extensions import db
from trustcenter.faq.models import ContentVersion


def version_count(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(ContentVersion))


def test_db_upgrade_is_idempotent(runner, app):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Database: already at revision" in result.output
    with app.app_context():
        assert "content_versions" in inspect(db.engine).get_table_names()


def test_demo_is_idempotent(runner, app):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert version_count(app) == 2
    assert "Filed 5 demo requests" in first.output and "Recorded 2 demo incidents" in first.output
    second = runner.invoke(args=["demo"])
    assert "already published" in second.output and "demo requests" not in second.output
    assert "demo incidents" not in second.output
    assert version_count(app) == 2
    with app.app_context():
        from sqlalchemy import func, select

        from trustcenter.extensions import db
        from trustcenter.requests.models import RightsRequest

        states = dict(db.session().execute(select(RightsRequest.state, func.count()).group_by(RightsRequest.state)).all())
    assert states == {"submitted": 2, "acknowledged": 1, "awaiting_requester": 1, "completed": 1}
    with app.app_context():
        from trustcenter.notices.models import Incident, Notice

        session = db.session()
        assert sorted(i.status for i in session.scalars(select(Incident))) == ["closed", "suspected"]
        assert [n.state for n in session.scalars(select(Notice))] == ["published"]


def test_content_check_and_publish(runner, app):
    check = runner.invoke(args=["content", "check"])
    assert "11 sections, 27 questions, 3 subprocessors" in check.output
    assert "Published content version" in runner.invoke(args=["content", "publish", "--note", "n"]).output
    assert "already published" in runner.invoke(args=["content", "publish"]).output
    assert version_count(app) == 1


def test_the_development_server_builds_links_on_its_own_port(tmp_path):
    """`make run PORT=…`: the invitation mail, the feed and security.txt must link to where the server listens."""
    import http.client
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tests.smtp import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRUSTCENTER_", "FLASK_"))}
    env.update({"TRUSTCENTER_INSTANCE_PATH": str(tmp_path), "TRUSTCENTER_MAIL_WORKER_THREAD": "0"})
    binary = Path(sys.executable).parent / "trustcenter"
    subprocess.run([binary, "db", "upgrade"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([binary, "run", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        body = ""
        for _ in range(100):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/.well-known/security.txt")
                body = connection.getresponse().read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert f"Canonical: http://127.0.0.1:{port}/.well-known/security.txt" in body
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_demo_printout_says_where_the_other_recovery_codes_are(runner, app):
    import re
    from pathlib import Path

    import pyotp

    first = runner.invoke(args=["demo"]).output
    secret = re.search(r"admin@cloudstem\.example .*\n.*TOTP secret \(add it to an authenticator app\): ([A-Z2-7]+)",
                       first).group(1)
    assert len(pyotp.TOTP(secret).now()) == 6
    shown = re.search(r"one recovery code: (\S+) \(9 more in (\S+)\)", first)
    stored = Path(shown.group(2)).read_text()
    admin_codes = re.search(r"admin@cloudstem\.example: (.+)", stored).group(1).split()
    assert len(admin_codes) == 10 and shown.group(1) == admin_codes[0]
    again = runner.invoke(args=["demo"]).output
    assert "one recovery code" in again and "All recovery codes" not in again
