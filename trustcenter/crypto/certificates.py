"""The deployment's document-signing identity: its own certificate authority and a signing certificate.

`trustcenter keys generate` makes both (`issue_signing_identity`). The web and
worker processes load the signing key, its certificate and the CA certificate
from `TRUSTCENTER_SIGNING_*` variables (PEM text) or from files in
`instance/keys/`; the CA's private key is only needed to issue the next
signing certificate and belongs offline. Development generates a CA marked as
such; production refuses it, whichever setting it came through.

Keys are ECDSA P-256 with SHA-256: the algorithm every PDF reader validates
(PAdES readers do not all accept Ed25519 yet).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trustcenter.crypto.errors import KeyConfigurationError

SIGNING_KEY_ENV = "TRUSTCENTER_SIGNING_KEY"
SIGNING_CERT_ENV = "TRUSTCENTER_SIGNING_CERT"
SIGNING_CA_ENV = "TRUSTCENTER_SIGNING_CA"
SIGNING_KEY_FILE = "signing-key.pem"
SIGNING_CERT_FILE = "signing-cert.pem"
SIGNING_CA_FILE = "signing-ca.pem"
CA_KEY_FILE = "signing-ca-key.pem"
# The organisational unit of every development CA: production refuses a CA that carries it.
DEVELOPMENT_UNIT = "Development only - not for production"
CA_YEARS, SIGNER_YEARS = 10, 2


@dataclass(frozen=True)
class SigningIdentity:
    """What documents are signed with: the key, its certificate, and the CA that issued it."""

    key: ec.EllipticCurvePrivateKey = field(repr=False)
    certificate: x509.Certificate
    ca_certificate: x509.Certificate

    @property
    def issuer_name(self) -> str:
        """The signer as people read it: the certificate's organisation, else its common name."""
        return _attribute(self.certificate.subject, NameOID.ORGANIZATION_NAME) or _attribute(
            self.certificate.subject, NameOID.COMMON_NAME)

    @property
    def is_development(self) -> bool:
        return _attribute(self.ca_certificate.subject, NameOID.ORGANIZATIONAL_UNIT_NAME) == DEVELOPMENT_UNIT

    @property
    def ca_pem(self) -> bytes:
        return self.ca_certificate.public_bytes(serialization.Encoding.PEM)

    def fingerprint(self) -> str:
        """SHA-256 of the signing certificate, hex: recorded with each signed document."""
        return self.certificate.fingerprint(hashes.SHA256()).hex()


@dataclass(frozen=True)
class IssuedIdentity:
    """A new CA and signing certificate, as PEM text to store."""

    ca_key: bytes = field(repr=False)
    ca_certificate: bytes
    signing_key: bytes = field(repr=False)
    signing_certificate: bytes


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def _name(common_name: str, organisation: str, unit: str | None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                  x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation)]
    if unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    return x509.Name(attributes)


def _usage(*, sign_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not sign_certificates, content_commitment=not sign_certificates,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=sign_certificates, crl_sign=sign_certificates,
                         encipher_only=False, decipher_only=False)


def issue_signing_identity(organisation: str, development: bool = False,
                           now: dt.datetime | None = None) -> IssuedIdentity:
    """A fresh CA (10 years) and a document-signing certificate it issued (2 years)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    unit = DEVELOPMENT_UNIT if development else None
    ca_key, signer_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{organisation} trust center CA", organisation, unit)
    start = now - dt.timedelta(minutes=5)  # a little slack for clocks behind ours
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(_usage(sign_certificates=True), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    signer = (x509.CertificateBuilder().subject_name(_name(f"{organisation} document signing", organisation, unit))
              .issuer_name(ca_name).public_key(signer_key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(start).not_valid_after(now + dt.timedelta(days=365 * SIGNER_YEARS))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(_usage(sign_certificates=False), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    return IssuedIdentity(_private_pem(ca_key), ca.public_bytes(serialization.Encoding.PEM),
                          _private_pem(signer_key), signer.public_bytes(serialization.Encoding.PEM))


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_identity(key_dir: Path, issued: IssuedIdentity, overwrite: bool = False) -> list[Path]:
    """Store a new identity in `key_dir` (private files 0600); refuse to replace one (but development's)."""
    files = {CA_KEY_FILE: issued.ca_key, SIGNING_CA_FILE: issued.ca_certificate,
             SIGNING_KEY_FILE: issued.signing_key, SIGNING_CERT_FILE: issued.signing_certificate}
    existing = [key_dir / name for name in files if (key_dir / name).exists()]
    if existing and not overwrite and not _development_ca_in(key_dir):
        raise KeyConfigurationError(f"{existing[0]} already exists; move the old signing identity away first.")
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_dir.chmod(0o700)  # a key folder is nobody else's business, however it was made
    for name, data in files.items():
        private = name in (CA_KEY_FILE, SIGNING_KEY_FILE)
        _write_file(key_dir / name, data, 0o600 if private else 0o644)
    return [key_dir / name for name in files]


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Created with its final mode (a private key is never readable by others, not even for a moment)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), mode)  # an existing file keeps its old mode through O_CREAT
        file.write(data)


def _development_ca_in(key_dir: Path) -> bool:
    """A folder holding development's throwaway CA, which a real one may replace."""
    try:
        ca = x509.load_pem_x509_certificate((key_dir / SIGNING_CA_FILE).read_bytes())
    except (OSError, ValueError):
        return False
    return _attribute(ca.subject, NameOID.ORGANIZATIONAL_UNIT_NAME) == DEVELOPMENT_UNIT


def generate_development_identity(key_dir: Path, organisation: str = "trustcenter") -> None:
    """Development's signing identity, made once in `key_dir` and marked as development."""
    if not (key_dir / SIGNING_KEY_FILE).exists():
        write_identity(key_dir, issue_signing_identity(organisation, development=True), overwrite=True)


def _pem(environ: Mapping[str, str], name: str, key_dir: Path, file_name: str) -> bytes:
    value = environ.get(name)
    if value and value.strip():
        return value.replace("\\n", "\n").encode()  # one-line forms from env files
    path = key_dir / file_name
    if path.is_file():
        return path.read_bytes()
    raise KeyConfigurationError(f"{name} is not set and {path} does not exist. Create the document-signing "
                                f"certificates with `trustcenter keys generate` and configure them.")


def load_signing_identity(environ: Mapping[str, str], key_dir: Path, production: bool) -> SigningIdentity:
    """The signing key, its certificate and the CA; production refuses a development CA."""
    try:
        key = serialization.load_pem_private_key(_pem(environ, SIGNING_KEY_ENV, key_dir, SIGNING_KEY_FILE), None)
        certificate = x509.load_pem_x509_certificate(_pem(environ, SIGNING_CERT_ENV, key_dir, SIGNING_CERT_FILE))
        ca = x509.load_pem_x509_certificate(_pem(environ, SIGNING_CA_ENV, key_dir, SIGNING_CA_FILE))
    except (ValueError, TypeError) as exc:
        raise KeyConfigurationError(f"The document-signing key or certificates cannot be read ({exc}); "
                                    f"check {SIGNING_KEY_ENV}, {SIGNING_CERT_ENV} and {SIGNING_CA_ENV}.") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyConfigurationError(f"{SIGNING_KEY_ENV} must be an ECDSA key, as `trustcenter keys generate` makes.")
    identity = SigningIdentity(key, certificate, ca)
    _check_pair(identity)
    if production and identity.is_development:
        raise KeyConfigurationError(f"{SIGNING_CA_ENV} is a development CA; production needs its own "
                                    "(`trustcenter keys generate`).")
    return identity


def _check_pair(identity: SigningIdentity) -> None:
    """The key must match the certificate, and the certificate must come from the CA."""
    ours = identity.key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    theirs = identity.certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    if ours != theirs:
        raise KeyConfigurationError(f"{SIGNING_KEY_ENV} does not belong to the certificate in {SIGNING_CERT_ENV}.")
    try:
        identity.certificate.verify_directly_issued_by(identity.ca_certificate)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise KeyConfigurationError(f"The certificate in {SIGNING_CERT_ENV} was not issued by the CA in "
                                    f"{SIGNING_CA_ENV} ({type(exc).__name__}).") from None
