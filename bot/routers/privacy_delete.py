"""/delete_account, and operators' erasure on a support request or a report of a minor."""

from __future__ import annotations

from aiogram import Router

router = Router(name="privacy_delete")
