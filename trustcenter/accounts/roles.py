"""Roles and what they may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER_MEMBER = "customer_member"
    CUSTOMER_ADMIN = "customer_admin"
    STAFF = "staff"
    DPO = "dpo"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return LABELS[self]

    @property
    def is_provider(self) -> bool:
        """Works for the company running the trust center rather than for a customer."""
        return self in PROVIDER_ROLES


LABELS = {
    Role.CUSTOMER_MEMBER: "Customer member",
    Role.CUSTOMER_ADMIN: "Customer administrator",
    Role.STAFF: "Staff (technical customer service)",
    Role.DPO: "Data Protection Officer",
    Role.ADMIN: "Administrator",
}
CUSTOMER_ROLES = frozenset({Role.CUSTOMER_MEMBER, Role.CUSTOMER_ADMIN})
PROVIDER_ROLES = frozenset({Role.STAFF, Role.DPO, Role.ADMIN})
# Second factor is mandatory for everyone who can see other people's data.
MFA_REQUIRED = PROVIDER_ROLES
# Who may invite colleagues, and which roles they may hand out.
INVITABLE_BY = {
    Role.CUSTOMER_ADMIN: frozenset({Role.CUSTOMER_MEMBER, Role.CUSTOMER_ADMIN}),
    Role.ADMIN: frozenset(Role),
}
