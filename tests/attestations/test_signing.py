"""The deployment's CA and signing certificate: made by `keys generate`, refused in production when development's."""

from __future__ import annotations

import os
import subprocess

import pytest
from cryptography import x509

from tests.processes import BIN
from trustcenter.crypto.certificates import (
    SIGNING_CA_FILE,
    SIGNING_CERT_FILE,
    SIGNING_KEY_FILE,
    generate_development_identity,
    issue_signing_identity,
    load_signing_identity,
    write_identity,
)
from trustcenter.crypto.errors import KeyConfigurationError


def generate(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTCENTER_")}
    return subprocess.run([BIN / "trustcenter", "keys", "generate", *args], capture_output=True, text=True,
                          env={**env, "TRUSTCENTER_INSTANCE_PATH": str(tmp_path)}, timeout=60)


def test_keys_generate_makes_a_ca_and_a_signing_certificate_production_accepts(tmp_path):
    done = generate(tmp_path)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "keys"
    assert oct((folder / SIGNING_KEY_FILE).stat().st_mode & 0o777) == "0o600"
    assert "offline" in done.stderr and "BEGIN" not in done.stdout  # nothing secret printed beside the env lines
    identity = load_signing_identity({}, folder, production=True)
    assert not identity.is_development and identity.issuer_name == "Cloud Stem"
    identity.certificate.verify_directly_issued_by(identity.ca_certificate)
    usage = identity.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_cert_sign
    before = (folder / SIGNING_KEY_FILE).read_bytes()
    again = generate(tmp_path)
    assert again.returncode == 0 and "Kept the document-signing identity" in again.stderr
    assert "TRUSTCENTER_MASTER_KEY=" in again.stdout  # the root keys are printed all the same
    assert (folder / SIGNING_KEY_FILE).read_bytes() == before  # never overwrites a real signing identity
    assert oct(folder.stat().st_mode & 0o777) == "0o700"


def test_production_refuses_a_development_ca_from_files_or_the_environment(tmp_path):
    generate_development_identity(tmp_path)
    assert load_signing_identity({}, tmp_path, production=False).is_development
    with pytest.raises(KeyConfigurationError, match="development CA"):
        load_signing_identity({}, tmp_path, production=True)
    env = {"TRUSTCENTER_SIGNING_KEY": (tmp_path / SIGNING_KEY_FILE).read_text(),
           "TRUSTCENTER_SIGNING_CERT": (tmp_path / SIGNING_CERT_FILE).read_text(),
           "TRUSTCENTER_SIGNING_CA": (tmp_path / SIGNING_CA_FILE).read_text().replace("\n", "\\n")}
    with pytest.raises(KeyConfigurationError, match="development CA"):
        load_signing_identity(env, tmp_path / "elsewhere", production=True)


def test_missing_or_mismatched_signing_files_are_named(tmp_path):
    with pytest.raises(KeyConfigurationError, match="TRUSTCENTER_SIGNING_KEY is not set"):
        load_signing_identity({}, tmp_path, production=True)
    write_identity(tmp_path / "a", issue_signing_identity("A"))
    write_identity(tmp_path / "b", issue_signing_identity("B"))
    (tmp_path / "a" / SIGNING_CERT_FILE).write_bytes((tmp_path / "b" / SIGNING_CERT_FILE).read_bytes())
    with pytest.raises(KeyConfigurationError, match="does not belong to the certificate"):
        load_signing_identity({}, tmp_path / "a", production=True)
    (tmp_path / "a" / SIGNING_KEY_FILE).write_bytes((tmp_path / "b" / SIGNING_KEY_FILE).read_bytes())
    with pytest.raises(KeyConfigurationError, match="not issued by the CA"):
        load_signing_identity({}, tmp_path / "a", production=True)
    (tmp_path / "a" / SIGNING_CA_FILE).write_text("not a certificate")
    with pytest.raises(KeyConfigurationError, match="cannot be read"):
        load_signing_identity({}, tmp_path / "a", production=True)
