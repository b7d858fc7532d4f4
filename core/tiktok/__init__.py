"""TikTok Marketing API v1.3 client (spec: shared/spec/tiktok-marketing-api.md)."""

from core.tiktok.client import TikTokClient
from core.tiktok.config import TikTokConfig
from core.tiktok.errors import (
    AuthCodeError,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitedError,
    ScopeMissingError,
    ServerError,
    TikTokError,
    TokenInvalidError,
    TransportError,
)
from core.tiktok.models import (
    Ad,
    AdGroup,
    Advertiser,
    AuthorizedAdvertiser,
    BusinessCenter,
    Campaign,
    Identity,
    ImageInfo,
    RevokeResult,
    StatusUpdateResult,
    TokenGrant,
    VideoInfo,
)
from core.tiktok.oauth import auth_code_from_redirect, consent_url
from core.tiktok.ratelimit import (
    NoLimiter,
    RateLimiter,
    RedisRateLimiter,
    TokenBucketLimiter,
    build_limiter,
)
from core.tiktok.reports import DEFAULT_METRICS, ReportLevel, ReportRow, ReportTable, TimeGrain
from core.tiktok.transport import RetryPolicy

__all__ = [
    "DEFAULT_METRICS",
    "Ad",
    "AdGroup",
    "Advertiser",
    "AuthCodeError",
    "AuthorizedAdvertiser",
    "BusinessCenter",
    "Campaign",
    "Identity",
    "ImageInfo",
    "InvalidRequestError",
    "NoLimiter",
    "PermissionDeniedError",
    "RateLimitedError",
    "RateLimiter",
    "RedisRateLimiter",
    "ReportLevel",
    "ReportRow",
    "ReportTable",
    "RetryPolicy",
    "RevokeResult",
    "ScopeMissingError",
    "ServerError",
    "StatusUpdateResult",
    "TikTokClient",
    "TikTokConfig",
    "TikTokError",
    "TimeGrain",
    "TokenBucketLimiter",
    "TokenGrant",
    "TokenInvalidError",
    "TransportError",
    "VideoInfo",
    "auth_code_from_redirect",
    "build_limiter",
    "consent_url",
]
