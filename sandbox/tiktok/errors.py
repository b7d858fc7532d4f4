"""API errors as exceptions, rendered into TikTok's HTTP 200 envelope (spec §1.5, §8.1)."""

from __future__ import annotations

# Codes of spec §8.1 used by the emulator.
OK = 0
INVALID_PARAMS = 40000
NO_PERMISSION = 40001
PARAM_ERROR = 40002
NOT_EXIST = 40007
TOO_MANY_IDS = 40011
NOTHING_TO_UPDATE = 40012
RATE_LIMIT = 40100
TOKEN_EMPTY = 40104
TOKEN_INVALID = 40105
AUTH_CODE_ERROR = 40110
SCOPE_NOT_AUTHORIZED = 40130
ROUTE_NOT_FOUND = 40400
AD_NUMBER_LIMIT = 40502
FILE_SIGNATURE_MISMATCH = 40900
FILE_URL_UNAVAILABLE = 40903
ILLEGAL_IMAGE = 40904
FILE_EMPTY = 40906
FILE_TOO_LARGE = 40907
FILE_BAD_TYPE = 40908
DUPLICATED_MATERIAL_NAME = 40911
SYSTEM_TIMEOUT = 50002

# Message texts: 40105 and 40100 are [L] in spec §8.1; the rest follow the
# "Invalid param: <field> ..." style of spec §4.11.
MSG_TOKEN_INVALID = "Access token is incorrect or has been revoked."
MSG_TOKEN_EMPTY = "Access token is null."
MSG_SYSTEM_TIMEOUT = "System timeout, please try again later."


class ApiError(Exception):
    """An API-level failure: answered as HTTP 200 with ``code`` and ``data: {}``."""

    def __init__(self, code: int, message: str) -> None:
        """Keep the TikTok code and message."""
        super().__init__(message)
        self.code = code
        self.message = message


def param_error(message: str) -> ApiError:
    """A 40002 parameter error with the usual prefix."""
    return ApiError(PARAM_ERROR, f"Invalid param: {message}")
