"""Imports every capability's models so Alembic and the tests see the whole schema."""

from participation import tokens  # noqa: F401  (ActionLink)
from participation.accounts import models as accounts_models  # noqa: F401
from participation.db import Base
from participation.digests import models as digests_models  # noqa: F401
from participation.evenings import models as evenings_models  # noqa: F401
from participation.events import models as events_models  # noqa: F401
from participation.formbuilder import models as formbuilder_models  # noqa: F401
from participation.mail import models as mail_models  # noqa: F401
from participation.privacy import models as privacy_models  # noqa: F401
from participation.register import models as register_models  # noqa: F401
from participation.rounds import models as rounds_models  # noqa: F401
from participation.surveys import models as surveys_models  # noqa: F401

metadata = Base.metadata
