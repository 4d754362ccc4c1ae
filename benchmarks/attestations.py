"""Signed attestations: the first posture attestation, and a download of the stored one.

    .venv/bin/python benchmarks/attestations.py            # SQLite and PostgreSQL, 15 rounds each
    .venv/bin/python benchmarks/attestations.py --quick    # 3 rounds, to check the script

The targets:

1. The first generation of the posture attestation takes at most 1 s: what the customer's "Download the
   posture attestation" button does, `POST /account/attestations/posture` (CSRF token taken from the page
   beforehand, not timed) and the `GET /account/attestations/<id>.pdf` its 303 leads to, through Flask's
   test client, signed in as a customer member through the login form, with nothing stored for the current
   content version and evidence results (the attestations table is emptied before each round, not timed).
   The POST renders the FAQ and the live evidence with WeasyPrint (tagged PDF/A-3b), signs it with pyHanko,
   seals and stores it; the GET opens it, audits the download and answers the PDF. The process has
   made one document before the rounds (WeasyPrint's and pyHanko's imports and font set-up are paid
   once per process, and reported on their own: `--cold` times a fresh interpreter's first request).
   Baselines, in the same rounds: WeasyPrint rendering the same HTML to a plain PDF (no tags, no PDF/A,
   no signature), and the same rendering as PDF/A-3b with tags; the signature alone is reported too.
2. A cached download takes at most 20 ms: the same button once the attestation is stored (the POST finds
   the stored document, the GET serves it), and the GET alone (a link to a document issued before).
   Baseline, in the same rounds: a bare Flask app in this process answering the same PDF bytes from memory
   through its test client.

Exits 0 whatever the figures: they are reported, not asserted; 2 when a check fails (a download that
is not the stored PDF, a second generation where the stored copy should have been served).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.exports import Backend, close_app, migrate, postgresql_backend, sqlite_backend  # noqa: E402
from benchmarks.load import cpu_model, git_revision, wait_for_idle  # noqa: E402

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PASSWORD = "correct horse battery staple"


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds `action` took, after collecting the garbage earlier steps left (so no step pays for another's)."""
    gc.collect()
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def seed_and_sign_in(app: Any) -> Any:
    """A customer organisation with one member, signed in through the login form; the content published."""
    from tests.conftest import Auth, Person
    from trustcenter.accounts import service
    from trustcenter.accounts.models import CUSTOMER
    from trustcenter.extensions import db
    from trustcenter.faq import service as faq

    with app.app_context():
        session = db.session()
        service.provider_organisation(session, "Cloud Stem")
        org = service.create_organisation(session, "Bench Customer Ltd", CUSTOMER)
        user = service.create_user(session, org, "member@bench.example", "customer_member", password=PASSWORD,
                                   first_name="Bench", last_name="Member")
        session.commit()
        faq.publish(session, app.extensions["content"].current(), "Benchmark")  # as a deployment has
        session.commit()
        person = Person(user.id, "member@bench.example", org.id, "customer_member")
    client = app.test_client()
    response = Auth(client).login(person)
    if response.status_code not in (302, 303):
        raise SystemExit(f"could not sign in: {response.status_code}")
    return client


class Button:
    """The customer's download button: POST with the page's token, follow the 303 to the PDF."""

    def __init__(self, client: Any) -> None:
        from tests.conftest import csrf_token_from

        self.client = client
        self.token = csrf_token_from(client.get("/account/attestations").get_data(as_text=True))
        self.location = ""

    def press(self) -> Any:
        issued = self.client.post("/account/attestations/posture", data={"csrf_token": self.token})
        if issued.status_code != 303:
            raise SystemExit(f"the button did not issue the document: {issued.status_code}")
        self.location = issued.location
        return self.client.get(self.location)


def empty_attestations(app: Any) -> None:
    from sqlalchemy import delete

    from trustcenter.attestations.models import Attestation
    from trustcenter.extensions import db

    with app.app_context():
        db.session().execute(delete(Attestation))
        db.session().commit()


def stored_count(app: Any) -> int:
    from sqlalchemy import func, select

    from trustcenter.attestations.models import Attestation
    from trustcenter.extensions import db

    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Attestation)) or 0


def posture_html(app: Any) -> str:
    """The HTML the posture attestation renders, for the WeasyPrint baselines."""
    from trustcenter.attestations import render
    from trustcenter.attestations.issuing import issuer
    from trustcenter.attestations.kinds import posture
    from trustcenter.attestations.service import STATUS_WORDS
    from trustcenter.evidence.service import current_results, results_digest
    from trustcenter.extensions import db

    with app.test_request_context():
        made = issuer()
        content = app.extensions["content"].current()
        results = current_results(db.session())
        draft = posture(content, None, results, results_digest(results))
        letterhead = render.Letterhead(made.site.company, made.logo, "ABCDE-12345", made.verify_url("ABCDE-12345"),
                                       made.verify_page, draft.title, "today")
        return render.render_html(draft.template, letterhead, site=made.site, status_words=STATUS_WORDS,
                                  **draft.context)


def weasyprint_baselines(html: str) -> tuple[float, float, bytes]:
    from weasyprint import HTML

    from trustcenter.attestations.render import ASSETS, locked_fetcher

    base = ASSETS.as_uri() + "/"
    plain, _ = timed(lambda: HTML(string=html, base_url=base, url_fetcher=locked_fetcher()).write_pdf())
    archival, pdf = timed(lambda: HTML(string=html, base_url=base, url_fetcher=locked_fetcher()).write_pdf(
        pdf_variant="pdf/a-3b", pdf_tags=True))
    return plain, archival, pdf


def signing_alone(app: Any, pdf: bytes) -> float:
    from trustcenter.attestations import signing_identity
    from trustcenter.attestations.signature import sign_pdf

    seconds, _ = timed(lambda: sign_pdf(pdf, signing_identity(app), "Benchmark", "https://bench.example/verify"))
    return seconds


def bare_flask(pdf: bytes) -> Any:
    from flask import Flask, Response

    bare = Flask("bare")

    @bare.get("/posture.pdf")
    def posture_pdf() -> Response:
        response = Response(pdf, mimetype="application/pdf")
        response.headers["Content-Disposition"] = 'attachment; filename="posture.pdf"'
        response.headers["Cache-Control"] = "private, no-store"
        return response

    return bare.test_client()


def measure(backend: Backend, rounds: int) -> dict[str, Any]:
    from trustcenter import create_app

    migrate(backend)
    app = create_app(backend.config())
    try:
        client = seed_and_sign_in(app)
        button = Button(client)
        warm_up, first_pdf = timed(lambda: button.press().data)
        html = posture_html(app)
        figures: dict[str, list[float]] = {name: [] for name in ("first", "plain", "archival", "sign", "again",
                                                                  "cached", "bare")}
        for _ in range(rounds):
            empty_attestations(app)
            seconds, response = timed(button.press)
            if response.status_code != 200 or stored_count(app) != 1:
                raise SystemExit(f"{backend.name}: the first generation failed ({response.status_code})")
            figures["first"].append(seconds)
            plain, archival, pdf = weasyprint_baselines(html)
            figures["plain"].append(plain)
            figures["archival"].append(archival)
            figures["sign"].append(signing_alone(app, pdf))
            stored = response.data
            bare = bare_flask(stored)
            for _ in range(20):
                seconds, again = timed(button.press)
                figures["again"].append(seconds)
                seconds, alone = timed(lambda: client.get(button.location))
                if again.data != stored or alone.data != stored:
                    raise SystemExit(f"{backend.name}: a cached download was not the stored PDF")
                figures["cached"].append(seconds)
                figures["bare"].append(timed(lambda: bare.get("/posture.pdf"))[0])
            if stored_count(app) != 1:
                raise SystemExit(f"{backend.name}: the stored copy was not served")
        return {"backend": backend.name, "warm_up": warm_up, "size": len(first_pdf), **figures}
    finally:
        close_app(app)
        backend.drop()


def cold_first_request() -> float:
    """A fresh interpreter: create the app, sign in, and time the first posture download (imports included)."""
    code = (
        "import sys, time; sys.path.insert(0, %r)\n"
        "from benchmarks.attestations import seed_and_sign_in\n"
        "from benchmarks.exports import sqlite_backend, migrate, close_app\n"
        "from trustcenter import create_app\n"
        "backend = sqlite_backend(); migrate(backend); app = create_app(backend.config())\n"
        "client = seed_and_sign_in(app)\n"
        "from benchmarks.attestations import Button\n"
        "button = Button(client)\n"
        "start = time.perf_counter(); response = button.press()\n"
        "print(time.perf_counter() - start, response.status_code)\n"
        "close_app(app); backend.drop()\n" % str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return float(done.stdout.split()[0])


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"median {statistics.median(values) * 1000:7.1f} ms, p95 {p95 * 1000:7.1f} ms"


def report(result: dict[str, Any]) -> None:
    median = {name: statistics.median(values) for name, values in result.items() if isinstance(values, list)}
    print(f"\n{result['backend']}  (PDF {result['size'] / 1024:.0f} KiB; the process's first document, imports "
          f"and fonts included: {result['warm_up'] * 1000:.0f} ms)")
    print(f"  first generation (POST + GET)            {ms(result['first'])}   target <= 1000 ms")
    print(f"    baseline: WeasyPrint, plain PDF        {ms(result['plain'])}   ratio "
          f"{median['first'] / median['plain']:.2f}x")
    print(f"    WeasyPrint, tagged PDF/A-3b            {ms(result['archival'])}   ratio "
          f"{median['first'] / median['archival']:.2f}x")
    print(f"    pyHanko signature alone                {ms(result['sign'])}")
    print(f"  cached download (button: POST + GET)     {ms(result['again'])}   target <= 20 ms   ratio "
          f"{median['again'] / median['bare']:.2f}x")
    print(f"  cached download (GET alone)              {ms(result['cached'])}   target <= 20 ms")
    print(f"    baseline: bare Flask, same bytes       {ms(result['bare'])}   ratio "
          f"{median['cached'] / median['bare']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 15")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--cold", action="store_true", help="also time a fresh interpreter's first download")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds to wait for a quiet machine")
    options = parser.parse_args()
    rounds = 3 if options.quick else 15
    busy = wait_for_idle(options.idle)
    print(f"trustcenter {git_revision()}, Python {platform.python_version()}, {cpu_model()}, "
          f"{os.cpu_count()} cores; other load at start: {busy:.2f} cores; {rounds} rounds")
    backends = [sqlite_backend] + ([] if options.sqlite_only else
                                   [lambda: postgresql_backend(options.admin_url, "bench_attestations")])
    for make in backends:
        report(measure(make(), rounds))
    if options.cold:
        print(f"\nfresh interpreter, first download (SQLite; imports, fonts and sign-in keys cold): "
              f"{cold_first_request() * 1000:.0f} ms")


if __name__ == "__main__":
    main()
