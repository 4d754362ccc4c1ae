"""Checks on what is stored: encryption at rest, the keys in use, the audit chain, retention and backups."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import LargeBinary, case, func, literal, or_, select, type_coerce

from trustcenter import config as settings
from trustcenter import models as _all_models  # noqa: F401 - registers every encrypted column
from trustcenter.attestations import uses_development_ca
from trustcenter.audit import Witness, verify
from trustcenter.audit.retention import RETENTION
from trustcenter.backup.copying import BackupError
from trustcenter.backup.service import check_separate, list_backups
from trustcenter.crypto import aead
from trustcenter.crypto.errors import MalformedCiphertext
from trustcenter.crypto.fields import REGISTRY
from trustcenter.crypto.models import DataKey, DestroyedKey, TenantKey
from trustcenter.evidence.claims import FAQ_RETENTION_DAYS
from trustcenter.evidence.probe import FAILING, PASSING, Outcome, Probe, plural, sentence

SAMPLE_ROWS = 5  # rows per table whose key ids are looked up in the key store
WRAPPED_LENGTH = aead.MIN_LENGTH + 32  # a sealed 256-bit key


def encryption_at_rest(probe: Probe) -> Outcome:
    """Every value of every sealed column starts with the ciphertext header; sampled ones name a known key."""
    problems, key_ids, counted, columns = [], set(), 0, 0
    for model, names in sorted(REGISTRY.items(), key=lambda item: item[0].__tablename__):
        table = model.__table__
        cols = [type_coerce(table.c[name], LargeBinary) for name in names]
        columns += len(cols)
        # One scan per table, counted in the database: a value too short for a ciphertext or without the
        # format byte is plaintext (or garbage), wherever it sits in the table.
        totals = probe.session.execute(select(*(func.count(col) for col in cols),
                                              *(func.count(case((_not_sealed(col), 1))) for col in cols))).one()
        counted += sum(totals[:len(cols)])
        problems += [f"{table.name}.{name}: {plural(bad, 'value')} not ciphertext"
                     for name, bad in zip(names, totals[len(cols):]) if bad]
        rows = probe.session.execute(select(*cols).where(or_(*(table.c[n].is_not(None) for n in names)))
                                     .limit(SAMPLE_ROWS)).all()
        key_ids |= _key_ids([bytes(v) for row in rows for v in row if v is not None])
    problems += _unknown_keys(probe, key_ids) + _keys_apart(probe) + _wrapped_keys(probe)
    details = {"columns": columns, "values": counted, "sample_keys": len(key_ids), "problems": problems}
    if problems:
        return Outcome(FAILING, f"{plural(len(problems), 'problem')} found: {problems[0]}.", details)
    return Outcome(PASSING, f"All {counted} values in {columns} sealed columns are AES-256-GCM ciphertexts; "
                   "tenant keys are wrapped; the key store is a database of its own.", details)


def _not_sealed(col: Any) -> Any:
    return or_(func.length(col) < aead.MIN_LENGTH,
               func.substr(col, 1, 1) != literal(bytes([aead.FORMAT_VERSION]), LargeBinary))


def _key_ids(blobs: list[bytes]) -> set[str]:
    found = set()
    for blob in blobs:
        try:
            found.add(str(aead.read_header(blob, "sample").key_id))
        except MalformedCiphertext:
            pass  # counted above as not ciphertext
    return found


def _unknown_keys(probe: Probe, key_ids: set[str]) -> list[str]:
    if not key_ids:
        return []
    with probe.app.extensions["keys"].transaction() as keystore:
        known = set(keystore.scalars(select(DataKey.id).where(DataKey.id.in_(key_ids))))
        known |= set(keystore.scalars(select(DestroyedKey.id).where(DestroyedKey.id.in_(key_ids))))
    missing = len(key_ids - known)
    return [f"{plural(missing, 'ciphertext key')} unknown to the key store"] if missing else []


def _keys_apart(probe: Probe) -> list[str]:
    try:
        check_separate(probe.session.get_bind(), probe.app.extensions["keys"].engine)  # type: ignore[arg-type]
    except BackupError as error:
        return [str(error).split(",")[0]]
    return []


def _wrapped_keys(probe: Probe) -> list[str]:
    root = probe.app.extensions["keys"].root
    with probe.app.extensions["keys"].transaction() as keystore:
        tenant = keystore.execute(select(TenantKey.wrapped, TenantKey.master_key_id)
                                  .where(TenantKey.wrapped.is_not(None)).limit(50)).all()
        data = keystore.scalars(select(DataKey.wrapped).limit(50)).all()
    bad = sum(1 for wrapped, master in tenant if not _sealed_key(wrapped) or master not in root.master.keys)
    bad_data = sum(1 for wrapped in data if not _sealed_key(wrapped))
    return ([f"{plural(bad, 'tenant key')} not wrapped by a master key"] if bad else []) + \
        ([f"{plural(bad_data, 'data key')} not wrapped"] if bad_data else [])


def _sealed_key(wrapped: bytes) -> bool:
    try:
        aead.read_header(bytes(wrapped), "key")
    except MalformedCiphertext:
        return False
    return len(wrapped) == WRAPPED_LENGTH


def no_development_keys(probe: Probe) -> Outcome:
    """Root keys, the session secret and (where it exists) the attestation CA are the deployment's own."""
    app, problems = probe.app, []
    if app.extensions["keys"].root.uses_development_keys:
        problems.append("the master key is a development key (generated into instance/keys)")
    secret = app.config.get("SECRET_KEY") or ""
    if (secret == settings.read_secret_file(Path(app.instance_path), settings.DEV_SECRET_FILE)
            or secret in settings.KNOWN_DEVELOPMENT_SECRETS or len(secret) < settings.MIN_SECRET_LENGTH):
        problems.append("the session secret (SECRET_KEY) is a development or default value")
    ca_status, ca_words = _attestation_ca(app)
    if ca_status == FAILING:
        problems.append(ca_words)
    details = {"problems": problems, "attestation_ca": ca_words}
    if problems:
        return Outcome(FAILING, "In use: " + "; ".join(problems) + ".", details)
    return Outcome(PASSING, f"The master key and the session secret are the deployment's own; {ca_words}.", details)


def _attestation_ca(app: Any) -> tuple[str, str]:
    """The CA that issues the document-signing certificate: the deployment's own, not development's."""
    if uses_development_ca(app):
        return FAILING, "the attestation signing CA is a development CA"
    return PASSING, "the attestation signing CA is the deployment's own"


def audit_chain(probe: Probe) -> Outcome:
    """Every entry's hash and link, the checkpoints and the signed head; against a head kept elsewhere."""
    witness, source = _witness(probe)
    result = verify(probe.session, probe.app.extensions["keys"].root.audit_verify, witness=witness)
    head = _head(probe)
    details = {"checked": result.checked, "witness": source, "head": head}
    if not result.ok:
        details["first_broken_id"] = result.first_broken_id
        return Outcome(FAILING, f"The audit log is broken at entry {result.first_broken_id}: {result.reason}.",
                       details)
    return Outcome(PASSING, f"{plural(result.checked, 'audit entry', 'audit entries')} verified; {source}.",
                   details)


def _witness(probe: Probe) -> tuple[Witness | None, str]:
    path = probe.app.config.get("AUDIT_WITNESS_FILE")
    if path:
        try:
            lines = Path(path).read_text(encoding="utf-8").split()
            return Witness.parse(lines[-1]), "compared with the shipped head in AUDIT_WITNESS_FILE"
        except (OSError, IndexError, ValueError) as error:
            return None, f"no shipped head could be read from AUDIT_WITNESS_FILE ({type(error).__name__})"
    if probe.previous_head:
        at = probe.previous_head_at.strftime("%Y-%m-%d %H:%M UTC") if probe.previous_head_at else "earlier"
        return (Witness.parse(probe.previous_head),
                f"no shipped head is configured, so the head the evidence run of {at} saw served as the witness")
    return None, "no shipped head is configured and no earlier run recorded one, so no rollback check was possible"


def _head(probe: Probe) -> str | None:
    from trustcenter.audit import AuditHead
    from trustcenter.audit.service import HEAD_ID

    head = probe.session.get(AuditHead, HEAD_ID)
    return str(Witness(head.last_id, head.last_hash)) if head is not None else None


def retention(probe: Probe) -> Outcome:
    """Log and backup retention are the FAQ's 35 days, and the newest backup is less than a day old."""
    config, problems = probe.app.config, []
    if RETENTION.days != FAQ_RETENTION_DAYS:
        problems.append(f"logs are kept {RETENTION.days} days, not {FAQ_RETENTION_DAYS}")
    if config["BACKUP_RETENTION_DAYS"] != FAQ_RETENTION_DAYS:
        problems.append(f"backups are kept {config['BACKUP_RETENTION_DAYS']} days (BACKUP_RETENTION_DAYS), "
                        f"not {FAQ_RETENTION_DAYS}")
    backups = list_backups(Path(config["BACKUP_DIR"]))
    newest = backups[-1] if backups else None
    age = newest.age(probe.now) if newest else None
    if newest is None:
        problems.append("no backup was found in the backup folder")
    elif age is not None and age > dt.timedelta(days=1):
        problems.append(f"the newest backup is {_hours(age)} old")
    details = {"log_days": RETENTION.days, "backup_days": config["BACKUP_RETENTION_DAYS"], "backups": len(backups),
               "newest_backup_at": newest.taken_at.isoformat() if newest else None, "problems": problems}
    if problems:
        return Outcome(FAILING, sentence(problems), details)
    return Outcome(PASSING, f"Logs and backups are kept {FAQ_RETENTION_DAYS} days; the newest backup is "
                   f"{_hours(age or dt.timedelta())} old.", details)


def _hours(age: dt.timedelta) -> str:
    hours = int(age.total_seconds() // 3600)
    return plural(hours, "hour") if hours < 48 else plural(hours // 24, "day")
