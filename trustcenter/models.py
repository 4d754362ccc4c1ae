"""Imports every domain's models so Alembic and tests see the whole schema."""

from trustcenter.db import Base
from trustcenter.accounts import models as accounts_models  # noqa: F401
from trustcenter.audit import models as audit_models  # noqa: F401
from trustcenter.crypto import models as crypto_models  # noqa: F401
from trustcenter.faq import models as faq_models  # noqa: F401
from trustcenter.notify import models as notify_models  # noqa: F401
from trustcenter.requests import models as requests_models  # noqa: F401
from trustcenter.exports import models as exports_models  # noqa: F401
from trustcenter.notices import models as notices_models  # noqa: F401
from trustcenter.attestations import models as attestations_models  # noqa: F401
from trustcenter.evidence import models as evidence_models  # noqa: F401

metadata = Base.metadata
