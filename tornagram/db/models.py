"""Imports every model so that ``Base.metadata`` is complete (Alembic and tests use this)."""

from tornagram.accounts import models as accounts_models  # noqa: F401
from tornagram.db.base import Base
from tornagram.graph import models as social_models  # noqa: F401
from tornagram.moderation import models as moderation_models  # noqa: F401
from tornagram.oauth import models as oauth_models  # noqa: F401
from tornagram.photos import models as photos_models  # noqa: F401
from tornagram.rooms import models as rooms_models  # noqa: F401

metadata = Base.metadata
