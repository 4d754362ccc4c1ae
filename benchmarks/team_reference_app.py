"""The reference for `signed_in.py`: the team page in a minimal Flask + Flask-Login + Flask-SQLAlchemy app.

    gunicorn 'benchmarks.team_reference_app:create_app()'

What any such app must do for this page and nothing more: open the signed
session cookie, load the user by primary key (with their organisation, one
query), read the organisation's people (one query), open 51 AES-GCM values
under one key (each row's name and e-mail address sealed together, and the
organisation's name), make a CSRF token for the invitation form, and render
the same HTML as our team page (`templates/team_reference.html`, a copy of its
markup). No security headers, guards, per-person keys or form library.

Settings come from the environment: `BENCH_REFERENCE_DATABASE_URL`,
`BENCH_REFERENCE_SECRET_KEY` and `BENCH_REFERENCE_KEY` (the AES key, hex).
`seed()` creates and fills the database; `signed_in.py` calls it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, current_app, render_template, request
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import generate_csrf
from sqlalchemy import ForeignKey, select
from sqlalchemy.orm import DeclarativeBase, Mapped, joinedload, mapped_column, relationship

STATIC = Path(__file__).resolve().parent.parent / "static"
STATIC_FILES = ("img/favicon.svg", "css/site.css", "css/print.css", "vendor/htmx.min.js", "js/app.js")
NONCE = 12


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()


class Org(db.Model):  # type: ignore[name-defined]
    __tablename__ = "orgs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_sealed: Mapped[bytes]


class Person(UserMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    role_label: Mapped[str]
    status: Mapped[str]
    sealed: Mapped[bytes]  # nonce + AES-GCM of "name\x1femail", bound to the row id

    org: Mapped[Org] = relationship()


@dataclass(frozen=True)
class Member:
    name: str
    email: str
    role_label: str
    status: str


def _aad(table: str, row_id: int) -> bytes:
    return f"{table}:{row_id}".encode()


def seal(aead: AESGCM, plaintext: str, table: str, row_id: int) -> bytes:
    nonce = os.urandom(NONCE)
    return nonce + aead.encrypt(nonce, plaintext.encode(), _aad(table, row_id))


def unseal(aead: AESGCM, blob: bytes, table: str, row_id: int) -> str:
    return aead.decrypt(blob[:NONCE], blob[NONCE:], _aad(table, row_id)).decode()


def static_urls() -> dict[str, str]:
    """The same cache-busting URLs as our app (a content hash), computed once per process."""
    return {name: f"/static/{name}?v={hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]}"
            for name in STATIC_FILES}


@login_manager.user_loader
def load_user(user_id: str) -> Person | None:
    return db.session.get(Person, int(user_id), options=[joinedload(Person.org)])  # one query, as ours


@login_required
def team() -> str:
    aead: AESGCM = current_app.extensions["reference_aead"]
    org = current_user.org
    people = db.session.scalars(select(Person).where(Person.org_id == org.id).order_by(Person.id))
    members = [Member(*unseal(aead, p.sealed, "people", p.id).split("\x1f"), p.role_label, p.status)
               for p in people]
    return render_template("team_reference.html", org_name=unseal(aead, org.name_sealed, "orgs", org.id),
                           members=members, csrf_token=generate_csrf())


def login() -> tuple[str, int]:
    """Benchmark only: sign in as the person named by `user_id`, without a password."""
    person = db.session.get(Person, int(request.form["user_id"]))
    if person is None:
        return "no such person", 404
    login_user(person)
    return "signed in", 200


def create_app(database_url: str | None = None) -> Flask:
    app = Flask(__name__, template_folder="templates")
    app.config.update(
        SECRET_KEY=os.environ.get("BENCH_REFERENCE_SECRET_KEY", "reference-only-secret"),
        SQLALCHEMY_DATABASE_URI=database_url or os.environ["BENCH_REFERENCE_DATABASE_URL"],
        SESSION_COOKIE_NAME="ref_session",
    )
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True  # as our app's templates
    app.jinja_env.globals["static"] = static_urls()
    app.extensions["reference_aead"] = AESGCM(bytes.fromhex(os.environ["BENCH_REFERENCE_KEY"]))
    db.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = None  # as ours; "basic" would mark wrk's sessions non-fresh and rewrite them
    app.add_url_rule("/account/team", "team", team)
    app.add_url_rule("/login", "login", login, methods=["POST"])
    return app


def seed(app: Flask, org_name: str, people: Iterable[tuple[str, str, str, str]]) -> None:
    """Create the tables and one organisation with `people` (name, e-mail, role label, status), ids from 1."""
    aead: AESGCM = app.extensions["reference_aead"]
    with app.app_context():
        db.create_all()
        org = Org(id=1, name_sealed=seal(aead, org_name, "orgs", 1))
        db.session.add(org)
        for number, (name, email, role_label, status) in enumerate(people, start=1):
            db.session.add(Person(id=number, org_id=org.id, role_label=role_label, status=status,
                                  sealed=seal(aead, f"{name}\x1f{email}", "people", number)))
        db.session.commit()
