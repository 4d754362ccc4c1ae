"""Backups of the main database: create, list, prune, restore. The key store is never part of them.

No Flask imports here or in `service.py`; `cli.py` holds the `trustcenter backup` commands.
"""

from trustcenter.backup.service import (
    Backup,
    BackupError,
    DatabaseNotEmpty,
    create_backup,
    list_backups,
    prune_backups,
    restore_backup,
)

__all__ = ["Backup", "BackupError", "DatabaseNotEmpty", "create_backup", "list_backups", "prune_backups",
           "restore_backup"]
