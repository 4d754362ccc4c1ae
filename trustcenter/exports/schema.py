"""The JSON Schema (draft 2020-12) that every export's data.json validates against; shipped inside it."""

from __future__ import annotations

from typing import Any

TEXT = {"type": ["string", "null"]}
TIME = {"type": ["string", "null"], "format": "date-time"}
DATE = {"type": ["string", "null"], "format": "date"}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or list(properties),
            "additionalProperties": False}


PROFILE = _object({name: TEXT for name in (
    "email", "first_name", "last_name", "username", "country", "state", "timezone", "company_name", "address",
    "phone", "payment_customer_reference")})
ACCOUNT = _object({"role": {"type": "string"}, "status": {"type": "string"}, "created_at": TIME,
                   "last_sign_in_at": TIME, "last_sign_in_address": TEXT})
SECURITY = _object({"two_factor_enabled": {"type": "boolean"}, "recovery_codes_left": {"type": "integer"},
                    "password_set": {"type": "boolean"}})
SIGN_IN = _object({"at": TIME, "succeeded": {"type": "boolean"}, "address": TEXT})
AUDIT = _object({"id": {"type": "integer"}, "at": TIME, "action": {"type": "string"},
                 "role": {"enum": ["actor", "subject"]}, "actor": {"type": "string"},
                 "details": {"type": "object"}})
MESSAGE = _object({"at": TIME, "from": {"type": "string"}, "kind": {"type": "string"}, "text": TEXT,
                   "attachments": {"type": "array", "items": {"type": "string"}}})
REQUEST = _object({"reference": {"type": "string"}, "kind": {"type": "string"}, "state": {"type": "string"},
                   "received_on": DATE, "due_on": DATE, "closed_at": TIME,
                   "answers": {"type": "object", "additionalProperties": {"type": "string"}},
                   "outcome": TEXT, "messages": {"type": "array", "items": MESSAGE}})
NOTICE = _object({"incident": {"type": "string"}, "phase": {"type": "string"}, "title": TEXT, "text": TEXT,
                  "published_at": TIME, "mailed_at": TIME, "text_message_sent_at": TIME, "read_at": TIME,
                  "acknowledged_at": TIME})
UPDATES = {"oneOf": [{"type": "null"}, _object({"faq": {"type": "boolean"}, "subprocessors": {"type": "boolean"}})]}
PERSON = _object({
    "id": {"type": "string"}, "profile": PROFILE, "account": ACCOUNT, "security": SECURITY,
    "sign_ins": {"type": "array", "items": SIGN_IN}, "audit_entries": {"type": "array", "items": AUDIT},
    "requests": {"type": "array", "items": REQUEST}, "notices": {"type": "array", "items": NOTICE},
    "preferences": _object({"processing_restricted_since": TIME,
                            "objections": {"type": "array", "items": {"type": "string"}},
                            "updates_by_email": UPDATES}),
})
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:trustcenter:export:data:1",
    "title": "Personal data held by the trust center",
    **_object({
        "export": _object({"id": {"type": "string"}, "scope": {"enum": ["person", "organisation"]},
                           "created_at": TIME, "format_version": {"const": 1}}),
        "organisation": _object({"id": {"type": "string"}, "name": {"type": "string"},
                                 "kind": {"type": "string"}, "created_at": TIME}),
        "people": {"type": "array", "items": PERSON},
    }),
}
