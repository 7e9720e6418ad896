"""The service layer: everything the pages and the API show comes through here, filtered by the
user's regions (``Services.scope``) before it leaves. Templates and routes never filter."""

from mifund.web.services.core import Services

__all__ = ["Services"]
