"""Imports every domain's models so Alembic and tests see the whole schema."""

from trustcenter.db import Base
from trustcenter.crypto import models as crypto_models  # noqa: F401
from trustcenter.faq import models as faq_models  # noqa: F401

metadata = Base.metadata
