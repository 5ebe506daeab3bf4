"""All models, imported here so that `Base.metadata` knows every table."""

from orm.models.base import DEFAULT_STORE_ID, Base
from orm.models.model_store import Store

__all__ = ["DEFAULT_STORE_ID", "Base", "Store"]
