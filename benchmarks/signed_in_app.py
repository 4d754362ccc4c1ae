"""Our app plus one control page for `signed_in.py`: the team page rendered from values in memory.

    gunicorn 'benchmarks.signed_in_app:create_app()'

`/bench/team-in-memory` is the customer administrator's team page with the
same guard, template, form and layout as `/account/team`, but its rows are
plain values decrypted once per process and then kept in memory. Against it,
the real team page's throughput shows what reading the team from the database
and decrypting 51 values cost on every request. Only the benchmark serves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, Response
from flask_login import current_user

import trustcenter
from trustcenter.access import roles_required
from trustcenter.accounts import service
from trustcenter.accounts.forms import InviteForm
from trustcenter.accounts.roles import Role
from trustcenter.extensions import db
from trustcenter.htmx import render

CONTROL_PATH = "/bench/team-in-memory"


@dataclass(frozen=True)
class PlainMember:
    """What the team template reads from a member, already decrypted."""

    display_name: str
    email: str
    role_enum: Role
    status: str


_teams: dict[str, list[PlainMember]] = {}


def team_in_memory(org_id: str) -> list[PlainMember]:
    if org_id not in _teams:
        _teams[org_id] = [PlainMember(m.display_name, m.email, m.role_enum, m.status)
                          for m in service.colleagues(db.session(), org_id)]
    return _teams[org_id]


@roles_required(Role.CUSTOMER_ADMIN)
def team_from_memory() -> Response:
    return render("accounts/team.html", block="team", form=InviteForm(),
                  members=team_in_memory(current_user.org_id))


def create_app() -> Flask:
    app = trustcenter.create_app()
    app.add_url_rule(CONTROL_PATH, "bench_team_in_memory", team_from_memory)
    return app
