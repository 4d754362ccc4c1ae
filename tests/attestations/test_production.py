"""Attestations and evidence the way they run: gunicorn with two workers and `trustcenter worker` apart,
production keys and CA from `keys generate`, the key cache off, and a restart of the web process."""

from __future__ import annotations

import http.client
import io
import re
import time

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.attestations.test_documents import with_one_byte_changed
from tests.conftest import csrf_token_from
from tests.processes import BIN, Browser, cli, process, production_env, web
from tests.smtp import free_port
from trustcenter.attestations.signature import outside_event_loop

PASSWORD = "a long production passphrase"


def signature_status(pdf: bytes, ca_pem: bytes):
    ca = x509.load_pem_x509_certificate(ca_pem)
    trust = asn1_x509.Certificate.load(ca.public_bytes(serialization.Encoding.DER))
    embedded = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    return outside_event_loop(lambda: validate_pdf_signature(embedded, ValidationContext(trust_roots=[trust])))


def upload(browser: Browser, pdf: bytes) -> str:
    """POST the file to /verify as a browser's multipart form does, with the page's CSRF token."""
    token = csrf_token_from(browser.request("GET", "/verify")[2])
    boundary, payload = encode_multipart({"csrf_token": token, "document": FileStorage(io.BytesIO(pdf), "x.pdf")})
    connection = http.client.HTTPConnection("127.0.0.1", browser.port, timeout=30)
    connection.request("POST", "/verify", body=payload, headers={
        "X-Forwarded-Proto": "https", "Host": "trust.example", "Referer": "https://trust.example/verify",
        "Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items()),
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    assert response.status == 200, (response.status, text[-500:])
    return text


def claim(text: str, anchor: str) -> str:
    start = text.index(f'id="{anchor}"')
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text[start:text.index("</article>", start)]))


def test_a_customer_downloads_and_verifies_a_posture_attestation_across_a_restart(databases, tmp_path, smtp_server,
                                                                                    app):
    env = production_env(databases, tmp_path, smtp_server.port)
    app.extensions["mail_worker"].stop()  # the test app only prepared and will empty the databases
    cli(env, "db", "upgrade")
    cli(env, "content", "publish", "--note", "Launch")
    cli(env, "orgs", "create", "Northwind Analytics Ltd")
    cli(env, "users", "create", "--email", "priya@northwind.example", "--role", "customer_admin",
        "--org", "northwind analytics ltd", "--first-name", "Priya", "--password-stdin", stdin=PASSWORD + "\n")
    ca_pem = (tmp_path / "instance" / "keys" / "signing-ca.pem").read_bytes()
    port, log = free_port(), tmp_path / "processes.log"
    downloads = []
    with process([str(BIN / "trustcenter"), "worker", "--poll", "0.2"], env, log):
        for _round in range(2):  # the second round after a restart of the web process
            with web(env, port, log, workers=2):
                anonymous = Browser(port)
                deadline = time.monotonic() + 40  # the worker's first run, then each web worker's 15 s refresh
                while "Passing Breach notifications" not in claim(
                        anonymous.request("GET", "/faq/data-breach")[2], "breach-customer-notification"):
                    assert time.monotonic() < deadline, log.read_text()[-3000:]
                    time.sleep(1)
                customer = Browser(port)
                status, location, _ = customer.submit("/account/login", "/account/login",
                                                      {"email": "priya@northwind.example", "password": PASSWORD})
                assert status == 303 and location.endswith("/account/"), (status, location)
                status, location, _ = customer.submit("/account/attestations", "/account/attestations/posture", {})
                assert status == 303 and location.endswith(".pdf"), (status, location)
                status, _, _ = customer.request("GET", location.removeprefix("https://trust.example"))
                assert status == 200 and customer.body.startswith(b"%PDF-")
                downloads.append(customer.body)
                verdict = Browser(port)
                assert "Altered" in upload(verdict, with_one_byte_changed(customer.body))  # read in a child process
                assert "Authentic and unchanged" in upload(verdict, customer.body)
                assert 500 not in customer.statuses + anonymous.statuses + verdict.statuses
    first, second = downloads
    assert second == first  # the stored copy, opened with the key cache off in a restarted process
    status = signature_status(first, ca_pem)
    assert status.bottom_line and status.trusted and status.intact  # the production CA from `keys generate`
    assert "Traceback" not in log.read_text()
