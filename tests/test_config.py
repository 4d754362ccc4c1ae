"""Settings: environment parsing, development secrets, production refusal."""

from pathlib import Path

import pytest

from trustcenter import create_app
from trustcenter.config import ConfigError, resolve

ROOT = Path(__file__).resolve().parent.parent


def test_environment_variables_are_read_with_prefix(tmp_path):
    config = resolve(None, {"TRUSTCENTER_DATABASE_URL": "sqlite:///x.db", "TRUSTCENTER_TRUST_PROXY": "yes",
                            "TRUSTCENTER_MAX_CONTENT_LENGTH": "2048"}, tmp_path, ROOT)
    assert config["DATABASE_URL"] == "sqlite:///x.db"
    assert config["TRUST_PROXY"] is True
    assert config["MAX_CONTENT_LENGTH"] == 2048


def test_bad_integer_setting_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="TRUSTCENTER_MAX_CONTENT_LENGTH"):
        resolve(None, {"TRUSTCENTER_MAX_CONTENT_LENGTH": "lots"}, tmp_path, ROOT)


def test_a_recent_proof_window_under_a_minute_is_refused(tmp_path):
    """Nobody could finish the confirmation page in time: every sensitive change would loop back to it."""
    with pytest.raises(ConfigError, match="TRUSTCENTER_RECENT_PROOF_MINUTES"):
        resolve(None, {"TRUSTCENTER_RECENT_PROOF_MINUTES": "0"}, tmp_path, ROOT)


def test_development_generates_and_reuses_a_secret_in_instance(tmp_path):
    first = resolve(None, {}, tmp_path, ROOT)
    second = resolve(None, {}, tmp_path, ROOT)
    assert len(first["SECRET_KEY"]) >= 32
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_database_defaults_to_sqlite_in_instance(tmp_path):
    config = resolve(None, {}, tmp_path, ROOT)
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'trustcenter.db'}"


def test_production_refuses_to_start_without_secret(tmp_path):
    with pytest.raises(ConfigError, match="TRUSTCENTER_SECRET_KEY is not set"):
        create_app({"ENV": "production", "INSTANCE_PATH": str(tmp_path)})


def test_production_refuses_short_or_known_secret(tmp_path):
    with pytest.raises(ConfigError, match="too short"):
        resolve({"ENV": "production", "SECRET_KEY": "changeme"}, {}, tmp_path, ROOT)


def test_production_refuses_the_generated_development_secret(tmp_path):
    dev = resolve(None, {}, tmp_path, ROOT)["SECRET_KEY"]
    with pytest.raises(ConfigError, match="development secret"):
        resolve({"ENV": "production", "SMTP_HOST": "smtp.example", "SITE_URL": "https://trust.example.com"},
                {"TRUSTCENTER_SECRET_KEY": dev}, tmp_path, ROOT)


def test_production_refuses_debug(tmp_path):
    with pytest.raises(ConfigError, match="Debug"):
        resolve({"ENV": "production", "SECRET_KEY": "s" * 48, "DEBUG": True}, {}, tmp_path, ROOT)


def test_production_reads_secret_from_instance_file(tmp_path):
    (tmp_path / "secret_key.prod").write_text("p" * 48)
    config = resolve({"ENV": "production", "SMTP_HOST": "smtp.example", "SITE_URL": "https://trust.example.com"},
                     {}, tmp_path, ROOT)
    assert config["SECRET_KEY"] == "p" * 48


@pytest.fixture
def production_keys(monkeypatch):
    import secrets

    from trustcenter.crypto.certificates import issue_signing_identity
    from trustcenter.crypto.keys import encode_key, new_master_key_entry

    monkeypatch.setenv("TRUSTCENTER_MASTER_KEY", new_master_key_entry())
    monkeypatch.setenv("TRUSTCENTER_BLIND_INDEX_KEY", encode_key(secrets.token_bytes(32)))
    monkeypatch.setenv("TRUSTCENTER_AUDIT_SIGNING_KEY", encode_key(secrets.token_bytes(32)))
    signing = issue_signing_identity("Test Ltd")
    monkeypatch.setenv("TRUSTCENTER_SIGNING_KEY", signing.signing_key.decode())
    monkeypatch.setenv("TRUSTCENTER_SIGNING_CERT", signing.signing_certificate.decode())
    monkeypatch.setenv("TRUSTCENTER_SIGNING_CA", signing.ca_certificate.decode())


def test_production_sets_secure_session_cookie(tmp_path, production_keys):
    app = create_app({"ENV": "production", "SECRET_KEY": "s" * 48, "INSTANCE_PATH": str(tmp_path),
                      "SMTP_HOST": "smtp.example", "SITE_URL": "https://trust.example.com",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_production_refuses_flask_debug(tmp_path, production_keys, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(ConfigError, match="Debug mode is on"):
        create_app({"ENV": "production", "SECRET_KEY": "s" * 48, "INSTANCE_PATH": str(tmp_path),
                    "SMTP_HOST": "smtp.example", "SITE_URL": "https://trust.example.com", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})


def test_site_url_is_required_and_https_in_production(tmp_path):
    production = {"ENV": "production", "SECRET_KEY": "s" * 48, "SMTP_HOST": "smtp.example"}
    with pytest.raises(ConfigError, match="TRUSTCENTER_SITE_URL is not set"):
        resolve(production, {}, tmp_path, ROOT)
    with pytest.raises(ConfigError, match="must start with https://"):
        resolve({**production, "SITE_URL": "http://trust.example.com"}, {}, tmp_path, ROOT)
    for bad in ("trust.example.com", "https://", "https://trust.example.com/?next=x",
                "https://trust.example.com@evil.example", "https://evil.example\\@trust.example.com",
                "https://trust.example.com:99999", "https://trust.example.com/a b"):
        with pytest.raises(ConfigError, match="must look like"):
            resolve({**production, "SITE_URL": bad}, {}, tmp_path, ROOT)
    config = resolve(production, {"TRUSTCENTER_SITE_URL": "https://trust.example.com/"}, tmp_path, ROOT)
    assert config["SITE_URL"] == "https://trust.example.com"
    assert resolve({"ENV": "development"}, {}, tmp_path, ROOT)["SITE_URL"] == "http://127.0.0.1:5000"


def test_the_development_server_refuses_to_serve_production(tmp_path, production_keys, monkeypatch):
    from click.testing import CliRunner

    from trustcenter.cli import cli

    env = {"TRUSTCENTER_ENV": "production", "TRUSTCENTER_SECRET_KEY": "s" * 48,
           "TRUSTCENTER_SITE_URL": "https://trust.example.com", "TRUSTCENTER_SMTP_HOST": "smtp.example",
           "TRUSTCENTER_INSTANCE_PATH": str(tmp_path),
           "TRUSTCENTER_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    result = CliRunner().invoke(cli, ["run", "--debugger", "--port", "0"], env=env)
    assert result.exit_code == 2 and "development server" in result.output, result.output


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="must be development, production or testing"):
        resolve({"ENV": "staging"}, {}, tmp_path, ROOT)


def test_the_key_store_must_be_apart_from_the_data(tmp_path):
    same = f"sqlite:///{tmp_path / 'one.db'}"
    with pytest.raises(ConfigError, match="KEYSTORE_URL names the same database"):
        create_app({"ENV": "testing", "SECRET_KEY": "k" * 40, "INSTANCE_PATH": str(tmp_path),
                    "DATABASE_URL": same, "KEYSTORE_URL": same})


def test_key_store_defaults_beside_the_database_and_cache_setting_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTCENTER_KEY_CACHE_SECONDS", "0")
    app = create_app({"ENV": "testing", "SECRET_KEY": "k" * 40, "INSTANCE_PATH": str(tmp_path)})
    assert app.config["KEYSTORE_URL"] == f"sqlite:///{tmp_path / 'keys.db'}"
    assert app.extensions["keys"].cache_seconds == 0
    app.extensions["keys"].engine.dispose()
    with pytest.raises(ConfigError, match="KEY_CACHE_SECONDS"):
        create_app({"ENV": "testing", "SECRET_KEY": "k" * 40, "INSTANCE_PATH": str(tmp_path),
                    "KEY_CACHE_SECONDS": -1})
