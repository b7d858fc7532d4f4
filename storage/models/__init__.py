"""SQLAlchemy 2 models. Times are stored in UTC; money as exact integer micros, never float."""

from storage.models.admin import Broadcast, OperatorJob
from storage.models.ads import (
    AdAccount,
    AdObject,
    MetricDaily,
    MetricHourly,
    OAuthState,
    ObjectValue,
    OutboxMessage,
    RuleSum,
    SentMessage,
    SyncJob,
    TikTokConnection,
)
from storage.models.audit import AuditEntry
from storage.models.base import NAMING, Base, Micros, UTCDateTime, utcnow
from storage.models.billing import Entitlement, Payment
from storage.models.comments import AdComment, CommentWatch
from storage.models.fsm import FsmRecord
from storage.models.launch import Creative, CreativeUpload, Launch, LaunchItem, Template
from storage.models.pixel_watch import CommentBurst, PixelSignal, PixelWatch
from storage.models.privacy import DataExport, Erasure
from storage.models.rules import Rule, RuleAction, RuleRun
from storage.models.secrets import Credential
from storage.models.support import SupportMessage, SupportTicket
from storage.models.trackers import (
    FxRate,
    Tracker,
    TrackerDaily,
    TrackerLink,
    TrackerPush,
    TrackerUnmapped,
)
from storage.models.users import User
from storage.models.web import WebIdentity, WebOidcFlow, WebSession, WebSigninLink

__all__ = [
    "NAMING",
    "AdAccount",
    "AdComment",
    "AdObject",
    "AuditEntry",
    "Base",
    "Broadcast",
    "CommentBurst",
    "CommentWatch",
    "Creative",
    "CreativeUpload",
    "Credential",
    "DataExport",
    "Entitlement",
    "Erasure",
    "FsmRecord",
    "FxRate",
    "Launch",
    "LaunchItem",
    "MetricDaily",
    "MetricHourly",
    "Micros",
    "OAuthState",
    "ObjectValue",
    "OperatorJob",
    "OutboxMessage",
    "Payment",
    "PixelSignal",
    "PixelWatch",
    "Rule",
    "RuleAction",
    "RuleRun",
    "RuleSum",
    "SentMessage",
    "SupportMessage",
    "SupportTicket",
    "SyncJob",
    "Template",
    "TikTokConnection",
    "Tracker",
    "TrackerDaily",
    "TrackerLink",
    "TrackerPush",
    "TrackerUnmapped",
    "UTCDateTime",
    "User",
    "WebIdentity",
    "WebOidcFlow",
    "WebSession",
    "WebSigninLink",
    "utcnow",
]
