"""The sandbox's file methods: sending media, uploads and file ids, getFile (spec §4)."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from sandbox.telegram.engine import (
    BotApiError,
    Engine,
    bad_request,
)
from sandbox.telegram.limits import (
    MAX_DOWNLOAD,
    MAX_UPLOAD_OTHER,
    MAX_UPLOAD_PHOTO,
)
from sandbox.telegram.media import Upload, extension_for, guess_mime, image_size, photo_ladder
from sandbox.telegram.methods import (
    METHODS,
    Handler,
    Params,
    method,
    parse_text,
    reply_to_id,
    store_bot_message,
    validate_markup,
)
from sandbox.telegram.state import (
    StoredFile,
)


async def _resolve_file(
    engine: Engine, params: Params, name: str, kind: str
) -> tuple[StoredFile | None, Upload | None]:
    value = params.raw(name)
    if isinstance(value, str) and value.startswith("attach://"):
        value = params.raw(value[len("attach://") :])
    if isinstance(value, Upload):
        return None, value
    if not value:
        raise bad_request(f"there is no {name} in the request")
    if re.match(r"^https?://", value):
        try:
            timeout = aiohttp.ClientTimeout(total=10)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(value) as resp,
            ):
                resp.raise_for_status()
                body = await resp.read()
                filename = value.rstrip("/").rsplit("/", 1)[-1] or name
                return None, Upload(filename, resp.content_type, body)
        except (aiohttp.ClientError, TimeoutError):
            raise bad_request("wrong file identifier/HTTP URL specified") from None
    stored = engine.state.files.get(value)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        # Spec §1: the file type can't be changed on resend.
        raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
    return stored, None


def store_media(
    engine: Engine,
    kind: str,
    upload: Upload | None,
    stored: StoredFile | None,
    extra: dict[str, Any],
    *,
    strict_photo: bool = True,
    declared_size: int | None = None,
) -> dict[str, Any] | list[dict[str, Any]]:
    """Store an upload (or reuse a stored file) and build its PhotoSize list / Document / Video.
    `declared_size` (a user's file only) is the size Telegram reports for a stand-in upload."""
    state = engine.state
    if upload is not None:
        size = len(upload.content)
        if kind == "photo" and size > MAX_UPLOAD_PHOTO:
            raise bad_request("file is too big")
        if size > MAX_UPLOAD_OTHER:
            raise BotApiError(413, "Request Entity Too Large")
        if size == 0:
            raise bad_request("file must be non-empty")
        mime = upload.content_type
        if not mime or mime == "application/octet-stream":
            mime = guess_mime(upload.filename)
        default_ext = {"photo": ".jpg", "video": ".mp4"}.get(kind, ".bin")
        stored = state.new_file(
            kind,
            upload.content,
            upload.filename,
            mime,
            extension_for(upload.filename, mime, default_ext),
        )
        stored.declared_size = declared_size
    assert stored is not None
    if kind == "photo":
        dims = image_size(stored.content)
        if dims is None:
            if strict_photo:
                raise bad_request("IMAGE_PROCESS_FAILED")
            dims = (640, 480)
        width, height = dims
        # §1: photos at most 10000 for width + height, aspect ratio at most 20.
        if width + height > 10000 or max(width, height) > 20 * max(1, min(width, height)):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        ladder = photo_ladder(width, height)
        sizes = []
        for index, (w, h) in enumerate(ladder):
            # The sandbox does not resize: every size serves the original bytes.
            size_file = stored if index == len(ladder) - 1 else _alias(engine, stored)
            sizes.append(
                {
                    "file_id": size_file.file_id,
                    "file_unique_id": size_file.file_unique_id,
                    "file_size": stored.size,
                    "width": w,
                    "height": h,
                }
            )
        return sizes
    info: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
    }
    if stored.file_name:
        info["file_name"] = stored.file_name
    if stored.mime_type:
        info["mime_type"] = stored.mime_type
    if kind == "video":
        info["width"] = int(extra.get("width") or 0)
        info["height"] = int(extra.get("height") or 0)
        info["duration"] = int(extra.get("duration") or 0)
    return info


def _alias(engine: Engine, stored: StoredFile) -> StoredFile:
    return engine.state.new_file(
        "photo",
        stored.content,
        stored.file_name,
        stored.mime_type,
        "." + stored.file_path.rsplit(".", 1)[-1],
    )


def _media_method(kind: str, api_name: str) -> Handler:
    async def handler(engine: Engine, params: Params) -> Any:
        """Send a photo, document or video: upload, file_id or URL (caption rules, §1)."""
        user = engine.chat_for_bot(params.raw("chat_id"))
        caption = params.string("caption")
        mode = params.string("parse_mode")
        plain, ents = parse_text(
            engine, caption, mode, params.obj("caption_entities"), caption=True
        )
        markup = validate_markup(params.obj("reply_markup"))
        reply_to = reply_to_id(engine, user, params)
        stored, upload = await _resolve_file(engine, params, kind, kind)
        engine.check_flood(api_name, user.user_id)
        extra = {key: params.integer(key) for key in ("width", "height", "duration")}
        media = store_media(engine, kind, upload, stored, extra)
        return store_bot_message(
            engine,
            user,
            kind=kind,
            text=plain,
            html=caption,
            parse_mode=mode,
            entities=ents,
            reply_markup=markup,
            media=media,
            reply_to_message_id=reply_to,
        )

    return handler


METHODS["sendphoto"] = _media_method("photo", "sendPhoto")
METHODS["senddocument"] = _media_method("document", "sendDocument")
METHODS["sendvideo"] = _media_method("video", "sendVideo")


@method("getFile")
async def get_file(engine: Engine, params: Params) -> Any:
    """getFile: file_path for the download route; at most 20 MB (spec §1)."""
    stored = engine.state.files.get(params.string("file_id", "") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.size > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "file_path": stored.file_path,
    }
