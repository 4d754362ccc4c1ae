"""What Art. 15(1) GDPR requires beside the data itself, from the site's own content (no Flask imports)."""

from __future__ import annotations

from typing import Any

from trustcenter.faq.content import Site


def about(site: Site, content_version: str) -> dict[str, Any]:
    return {
        "controller_or_processor": (
            f"{site.company} holds this data as a {site.legal_role}. For data about the people of a customer, "
            "that customer is the controller and decides what happens to it; for the accounts of this trust "
            f"center, {site.company} is."),
        "contact": {"data_protection_officer": site.dpo_email},
        "purposes": [
            "Running your account on this trust center: signing in, security, and the pages you use.",
            "Answering your data queries and rights requests, and keeping the record the law requires.",
            "Security and accountability: the audit log of who did what, and when.",
        ],
        "categories_of_data": [
            "Identity and contact: name, e-mail address, username, company, postal address, country, time zone.",
            "Account: role, status, sign-in times and addresses, two-factor settings (never the secrets).",
            "Requests: what you asked, the messages exchanged and the names of the files sent.",
            "Audit entries in which you acted or were acted on.",
        ],
        "recipients": [{"name": s.name, "purpose": s.purpose, "location": s.location} for s in site.subprocessors],
        "storage": f"Hosted in {site.hosting_region}; every personal value is encrypted under a key of its person.",
        "retention": {
            "account_data": "Kept while the account exists; erased (crypto-shredded) on request or when the "
                            "customer's contract ends.",
            "audit_log_and_sign_ins": "35 days, then deleted.",
            "backups": "35 days, then deleted; erasure makes a person's values in older copies unreadable.",
            "mail": "Sent mail is kept 35 days, then deleted.",
            "requests": "The record of a request (what was asked and done) is kept as evidence; the requester's "
                        "details are removed from it when they are erased.",
            "this_export": "Downloadable for 7 days, then deleted.",
        },
        "source": "You, your organisation's administrator (who invited you), and this service itself "
                  "(sign-in times and addresses, audit entries).",
        "automated_decision_making": "None.",
        "your_rights": [
            "Rectification (Article 16): correct your details in your account, or ask us.",
            "Erasure (Article 17), restriction (Article 18) and objection (Article 21): make a request in your "
            "account or at /requests/new.",
            "Portability (Article 20): this export is machine-readable (JSON and CSV).",
            "To complain to a supervisory authority (Article 77): in the UK the Information Commissioner's "
            "Office, ico.org.uk, or the authority where you live or work.",
        ],
        "content_version": content_version,
    }
