"""What each kind of request asks: only what that right needs, and nothing more."""

from __future__ import annotations

from dataclasses import dataclass, field

from trustcenter.requests.models import Kind

MAX_TEXT = 5000
MAX_LINE = 300
ORGANISATION_SCOPE = "organisation"


@dataclass(frozen=True)
class Question:
    name: str
    label: str
    required: bool = False
    multiline: bool = True
    choices: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    # Only customer administrators are asked (erasing a whole organisation is theirs to ask for).
    admins_only: bool = False

    @property
    def max_length(self) -> int:
        return MAX_TEXT if self.multiline else MAX_LINE


@dataclass(frozen=True)
class Form:
    kind: Kind
    questions: tuple[Question, ...] = field(default_factory=tuple)


PROFILE_FIELDS = (
    ("name", "My name"), ("email", "My e-mail address"), ("address", "My postal address"),
    ("company", "My company name"), ("country", "My country or time zone"), ("other", "Something else"),
)
RESTRICTION_GROUNDS = (
    ("accuracy", "I contest the accuracy of the data (Article 18(1)(a))"),
    ("unlawful", "The processing is unlawful but I do not want the data erased (Article 18(1)(b))"),
    ("legal_claims", "You no longer need the data, but I need it for a legal claim (Article 18(1)(c))"),
    ("objection", "I have objected and am waiting for your answer (Article 18(1)(d))"),
)
OBJECTION_PROCESSING = (
    ("update_mail", "E-mails about changes to this trust center"),
    ("other", "Something else (describe it below)"),
)
ERASURE_SCOPES = (
    ("person", "My own account and data"),
    (ORGANISATION_SCOPE, "Our whole organisation: every account, at the end of our contract"),
)

FORMS: dict[Kind, Form] = {
    Kind.QUERY: Form(Kind.QUERY, (
        Question("question", "Your question", required=True),
    )),
    Kind.ACCESS: Form(Kind.ACCESS, (
        Question("scope", "Anything in particular you want to see?",
                 hint="Optional. Leave it empty for everything we hold about you."),
    )),
    Kind.RECTIFICATION: Form(Kind.RECTIFICATION, (
        Question("field", "What is wrong", required=True, multiline=False, choices=PROFILE_FIELDS),
        Question("correction", "What it should say", required=True),
    )),
    Kind.ERASURE: Form(Kind.ERASURE, (
        Question("scope", "What to erase", required=True, multiline=False, choices=ERASURE_SCOPES,
                 admins_only=True),
        Question("note", "Anything we should know", hint="Optional."),
    )),
    Kind.RESTRICTION: Form(Kind.RESTRICTION, (
        Question("grounds", "Why processing should be restricted", required=True, multiline=False,
                 choices=RESTRICTION_GROUNDS),
        Question("note", "Details", hint="Optional."),
    )),
    Kind.PORTABILITY: Form(Kind.PORTABILITY, (
        Question("note", "Anything we should know", hint="Optional. You get JSON and CSV files."),
    )),
    Kind.OBJECTION: Form(Kind.OBJECTION, (
        Question("processing", "What you object to", required=True, multiline=False,
                 choices=OBJECTION_PROCESSING),
        Question("grounds", "Your reasons", required=True,
                 hint="Article 21 asks for grounds relating to your particular situation."),
    )),
}


def questions_for(kind: Kind, is_admin: bool) -> tuple[Question, ...]:
    return tuple(q for q in FORMS[kind].questions if is_admin or not q.admins_only)


def answers_in_words(kind: Kind, details: dict[str, str] | None) -> list[tuple[str, str]]:
    """The requester's answers as (question, answer) pairs, choices shown by their label."""
    pairs = []
    for question in FORMS[kind].questions:
        value = (details or {}).get(question.name)
        if not value:
            continue
        pairs.append((question.label, dict(question.choices).get(value, value)))
    return pairs


def clean(kind: Kind, answers: dict[str, str | None], is_admin: bool) -> dict[str, str]:
    """Only this kind's questions, trimmed; raises ValueError naming a missing or overlong answer."""
    cleaned: dict[str, str] = {}
    for question in questions_for(kind, is_admin):
        value = (answers.get(question.name) or "").strip()
        if question.required and not value:
            raise ValueError(f"{question.label}: this is needed.")
        if len(value) > question.max_length:
            raise ValueError(f"{question.label}: at most {question.max_length} characters.")
        if value and question.choices and value not in dict(question.choices):
            raise ValueError(f"{question.label}: choose one of the options.")
        if value:
            cleaned[question.name] = value
    return cleaned
