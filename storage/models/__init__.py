"""SQLAlchemy 2 models. Times are stored in UTC; amounts are Numeric, never float."""

from storage.models.audit import AuditEntry
from storage.models.base import NAMING, Base, UTCDateTime, utcnow
from storage.models.fsm import FsmRecord
from storage.models.secrets import Credential
from storage.models.support import SupportMessage, SupportTicket
from storage.models.users import User

__all__ = [
    "NAMING",
    "AuditEntry",
    "Base",
    "Credential",
    "FsmRecord",
    "SupportMessage",
    "SupportTicket",
    "UTCDateTime",
    "User",
    "utcnow",
]
