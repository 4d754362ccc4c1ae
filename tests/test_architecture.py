"""Rules about the code itself that a reviewer would otherwise check by hand."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from trustcenter import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "trustcenter"


def python_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_ordering_rules_or_private_hook_lists():
    """Services never tiptoe around autoflush, and no library's private hook list is edited."""
    forbidden = re.compile(r"no_autoflush|_before_request_funcs|after_request_funcs|_update_remember_cookie"
                           r"|before_request_funcs")
    offenders = [f"{path.relative_to(PROJECT_ROOT)}:{number}" for path in python_files()
                 for number, line in enumerate(path.read_text().splitlines(), 1) if forbidden.search(line)]
    assert offenders == []


def test_no_module_level_mutable_state():
    """Module-level names bound to lists, dicts or sets are constants in UPPER_CASE (and never mutated)."""
    offenders = []
    for path in python_files():
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) and node.value is not None else []
            value = getattr(node, "value", None)
            mutable = isinstance(value, (ast.List, ast.Dict, ast.Set)) or (
                isinstance(value, ast.Call) and getattr(value.func, "id", "") in {"dict", "list", "set"})
            for target in targets:
                if mutable and isinstance(target, ast.Name) and not target.id.isupper() and target.id != "__all__":
                    offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} {target.id}")
    assert offenders == []


def test_crypto_and_audit_import_no_flask():
    for folder in ("crypto", "audit"):
        for path in (PACKAGE / folder).glob("*.py"):
            if path.name == "cli.py":
                continue  # the command-line front end is Flask's
            assert not re.search(r"^\s*(from|import) flask", path.read_text(), re.M), path


def test_request_logic_imports_no_flask():
    """The clock, the rules and the fulfilment are plain Python: routes, mail and tasks are the Flask side."""
    for name in ("attachments", "clock", "fulfilment", "kinds", "models", "service"):
        source = (PACKAGE / "requests" / f"{name}.py").read_text()
        assert not re.search(r"^\s*(from|import) flask", source, re.M), name
