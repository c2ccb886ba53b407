"""Every table of the service, imported so that Alembic's autogenerate and check see them."""

from sqlmodel import SQLModel

from .auth.models import LoginThrottle, RefreshToken
from .items.models import Item
from .users.models import User

metadata = SQLModel.metadata

__all__ = ["Item", "LoginThrottle", "RefreshToken", "User", "metadata"]
