"""Tamper-evident audit log: hash-chained entries, a signed head, signed retention checkpoints.

No Flask imports here or in the modules below, except `cli.py`.
"""

from trustcenter.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from trustcenter.audit.retention import RETENTION, PurgeResult, purge
from trustcenter.audit.service import AuditLogError, record, search
from trustcenter.audit.verify import AuditLogBroken, VerifyResult, Witness, verify

__all__ = [
    "RETENTION", "AuditCheckpoint", "AuditEntry", "AuditHead", "AuditLogBroken", "AuditLogError",
    "PurgeResult", "VerifyResult", "Witness", "purge", "record", "search", "verify",
]
