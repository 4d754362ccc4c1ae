"""PAdES signatures with pyHanko: sign a rendered PDF, and say whether a PDF's signature still holds."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from trustcenter.crypto.certificates import SigningIdentity

FIELD_NAME = "TrustCenterSignature"
T = TypeVar("T")


def outside_event_loop(call: Callable[[], T]) -> T:
    """Run `call` where asyncio.run may be used.

    pyHanko's synchronous API wraps its coroutines in asyncio.run, which refuses to start inside a running
    event loop (an asynchronous server worker; a process that also drives a browser): such a caller's work
    goes to a thread of its own, which has no loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def _asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def sign_pdf(pdf: bytes, identity: SigningIdentity, reason: str, location: str) -> bytes:
    """`pdf` with a PAdES baseline signature over the whole file, by the deployment's signing certificate."""
    key = asn1_keys.PrivateKeyInfo.load(identity.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    signer = signers.SimpleSigner(
        signing_cert=_asn1_certificate(identity.certificate), signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs([_asn1_certificate(identity.ca_certificate)]))
    metadata = signers.PdfSignatureMetadata(field_name=FIELD_NAME, subfilter=SigSeedSubFilter.PADES,
                                            reason=reason, location=location, name=identity.issuer_name)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    return outside_event_loop(lambda: signers.sign_pdf(writer, metadata, signer=signer).getvalue())


@dataclass(frozen=True)
class SignatureReport:
    """What a PDF's signature says: present, unchanged since signing, and from a certificate our CA issued."""

    present: bool
    from_our_ca: bool = False  # the signing certificate was issued by our CA, whatever became of the file
    intact: bool = False
    trusted: bool = False
    whole_file: bool = False
    signer: str = ""
    signed_at: dt.datetime | None = None

    @property
    def valid(self) -> bool:
        return self.present and self.intact and self.trusted and self.whole_file


def check_signature(pdf: bytes, ca_certificate: x509.Certificate) -> SignatureReport:
    """Validate the first signature of `pdf` against our CA only; anything unreadable is 'not present'."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
        embedded = signatures[0] if signatures else None
        ours = _issued_by(embedded.signer_cert, ca_certificate) if embedded is not None else False
    except (PdfError, ValueError, KeyError, TypeError, OSError):
        return SignatureReport(present=False)
    if embedded is None:
        return SignatureReport(present=False)
    context = ValidationContext(trust_roots=[_asn1_certificate(ca_certificate)])
    try:
        status = outside_event_loop(lambda: validate_pdf_signature(embedded, context))
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError):
        return SignatureReport(present=True, from_our_ca=ours)
    signer = status.signing_cert.subject.native.get("organization_name", "") if status.signing_cert else ""
    return SignatureReport(present=True, from_our_ca=ours, intact=bool(status.intact and status.valid),
                           trusted=bool(status.trusted),
                           whole_file=status.coverage is not None and status.coverage.name == "ENTIRE_FILE",
                           signer=str(signer), signed_at=status.signer_reported_dt)


def _issued_by(certificate: asn1_x509.Certificate | None, ca_certificate: x509.Certificate) -> bool:
    if certificate is None:
        return False
    try:
        x509.load_der_x509_certificate(certificate.dump()).verify_directly_issued_by(ca_certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
