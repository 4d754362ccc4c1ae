"""Imports every domain's models so Alembic and tests see the whole schema."""

from trustcenter.db import Base
from trustcenter.faq import models as faq_models  # noqa: F401

metadata = Base.metadata
