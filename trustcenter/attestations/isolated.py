"""Reading a PDF nobody vouches for in a child process with its own memory, CPU and time limits.

An uploaded file that is not byte for byte a document we issued may be built to
make a PDF parser loop or allocate without end (an XRef stream claiming a
billion entries in a hundred bytes does it to pyHanko). So /verify hands such
files to `python -m trustcenter.attestations.isolated`, which reads the CA and
the PDF from stdin and prints what the signature says as JSON. The child gets
no environment (no secrets), at most MEMORY_BYTES of address space and
CPU_SECONDS of CPU, and is killed after WALL_SECONDS; a process verifies at
most MAX_AT_ONCE files at a time.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import struct
import subprocess
import sys
import threading

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from trustcenter.attestations.signature import SignatureReport, check_signature

MEMORY_BYTES = 512 * 1024 * 1024
CPU_SECONDS = 4
WALL_SECONDS = 10.0
MAX_AT_ONCE = 2
WAIT_FOR_SLOT_SECONDS = 5.0
_SLOTS = threading.BoundedSemaphore(MAX_AT_ONCE)  # per process, like the thread pool it protects


class VerifierBusy(RuntimeError):
    """Every verification slot of this process is taken: the visitor should try again shortly."""


def check_untrusted(pdf: bytes, ca_certificate: x509.Certificate) -> SignatureReport | None:
    """What the signature of `pdf` says, read in a limited child process; None when it could not be read."""
    if b"/ByteRange" not in pdf:
        return SignatureReport(present=False)  # no signature dictionary at all: nothing to parse
    if not _SLOTS.acquire(timeout=WAIT_FOR_SLOT_SECONDS):
        raise VerifierBusy("every verification slot is busy")
    try:
        return _run_child(pdf, ca_certificate.public_bytes(serialization.Encoding.PEM))
    finally:
        _SLOTS.release()


def _run_child(pdf: bytes, ca_pem: bytes) -> SignatureReport | None:
    child = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env={"PYTHONDONTWRITEBYTECODE": "1"}, close_fds=True)
    try:
        # The child blocks on stdin until it has the limits: nothing of the file is read before them.
        resource.prlimit(child.pid, resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
        resource.prlimit(child.pid, resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
        output, _ = child.communicate(struct.pack(">I", len(ca_pem)) + ca_pem + pdf, timeout=WALL_SECONDS)
    except (subprocess.TimeoutExpired, ProcessLookupError, BrokenPipeError):
        child.kill()
        child.communicate()
        return None
    if child.returncode != 0:
        return None
    return _report_from(output)


def _report_from(output: bytes) -> SignatureReport | None:
    try:
        fields = json.loads(output)
        signed_at = dt.datetime.fromisoformat(fields.pop("signed_at")) if fields.get("signed_at") else None
        return SignatureReport(**fields, signed_at=signed_at)
    except (ValueError, TypeError):
        return None


def main() -> None:
    """The child: CA length, CA, PDF on stdin; the report as JSON on stdout."""
    data = sys.stdin.buffer.read()
    (length,) = struct.unpack(">I", data[:4])
    ca = x509.load_pem_x509_certificate(data[4:4 + length])
    try:
        report = check_signature(data[4 + length:], ca)
    except Exception:  # noqa: BLE001 - a file built to break the parser is only "unreadable"
        sys.exit(3)
    fields = {name: getattr(report, name) for name in report.__dataclass_fields__}
    fields["signed_at"] = report.signed_at.isoformat() if report.signed_at else None
    sys.stdout.write(json.dumps(fields))


if __name__ == "__main__":
    main()
