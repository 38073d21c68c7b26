"""Imports every capability's models so Alembic and the tests see the whole schema."""

from participation.accounts import models as accounts_models  # noqa: F401
from participation.db import Base
from participation.mail import models as mail_models  # noqa: F401

metadata = Base.metadata
