"""The TikTok client's creative calls (spec §5): uploads of videos and images by file or URL,
their details by id, and searches of the ad account's asset library. A mixin of TikTokClient,
which supplies the transport, the paging (`_get_all_pages`) and id batches (`_batched_list`)."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp

from core.tiktok.models import ImageInfo, VideoInfo
from core.tiktok.parsing import as_mapping, id_str
from core.tiktok.transport import Transport

# spec §1.6 batch and page limits
VIDEO_INFO_BATCH = 60
IMAGE_INFO_BATCH = 100
MATERIAL_SEARCH_PAGE_SIZE = 100  # spec §5.3 search: page_size 1-100


class CreativeCalls:
    """Creative endpoints over the client's transport, paging and batches."""

    if TYPE_CHECKING:
        transport: Transport

        async def _get_all_pages(
            self, path: str, token: str, params: Mapping[str, Any], page_size: int, *,
            list_key: str = "list",
        ) -> list[dict[str, Any]]: ...

        async def _batched_list(
            self, path: str, key: str, token: str, ids: Sequence[str], size: int,
            params: Mapping[str, Any],
        ) -> list[Mapping[str, Any]]: ...

    async def upload_video_file(
        self, token: str, advertiser_id: str, content: bytes, file_name: str
    ) -> VideoInfo:
        """Upload video bytes with their MD5 signature (spec §5.1)."""
        return VideoInfo.from_api(
            await self._upload_file("video", token, advertiser_id, content, file_name)
        )

    async def upload_video_url(
        self, token: str, advertiser_id: str, video_url: str, file_name: str | None = None
    ) -> VideoInfo:
        """Have TikTok fetch a video from a URL (spec §5.1)."""
        return VideoInfo.from_api(
            await self._upload_url("video", token, advertiser_id, video_url, file_name)
        )

    async def upload_image_file(
        self, token: str, advertiser_id: str, content: bytes, file_name: str
    ) -> ImageInfo:
        """Upload image bytes with their MD5 signature (spec §5.2)."""
        return ImageInfo.from_api(
            await self._upload_file("image", token, advertiser_id, content, file_name)
        )

    async def upload_image_url(
        self, token: str, advertiser_id: str, image_url: str, file_name: str | None = None
    ) -> ImageInfo:
        """Have TikTok fetch an image from a URL (spec §5.2)."""
        return ImageInfo.from_api(
            await self._upload_url("image", token, advertiser_id, image_url, file_name)
        )

    async def get_video_info(
        self, token: str, advertiser_id: str, video_ids: Sequence[str]
    ) -> list[VideoInfo]:
        """Video details, 60 ids per call; unusable ids are silently dropped (spec §5.3)."""
        items = await self._batched_list(
            "file/video/ad/info/",
            "video_ids",
            token,
            video_ids,
            VIDEO_INFO_BATCH,
            {"advertiser_id": advertiser_id},
        )
        return [VideoInfo.from_api(i) for i in items]

    async def get_image_info(
        self, token: str, advertiser_id: str, image_ids: Sequence[str]
    ) -> list[ImageInfo]:
        """Image details, 100 ids per call (spec §5.3)."""
        items = await self._batched_list(
            "file/image/ad/info/",
            "image_ids",
            token,
            image_ids,
            IMAGE_INFO_BATCH,
            {"advertiser_id": advertiser_id},
        )
        return [ImageInfo.from_api(i) for i in items]

    async def search_videos(
        self,
        token: str,
        advertiser_id: str,
        *,
        video_ids: Sequence[str] | None = None,
        material_ids: Sequence[str] | None = None,
        width: int | None = None,
        height: int | None = None,
        displayable: bool | None = None,
    ) -> list[VideoInfo]:
        """The ad account's asset-library videos matching the filters, every page (spec §5.3).

        The search filters by ids, size and ratio only: a video is found by its file name or
        MD5 signature by reading the list (spec §5.3 has no name or signature filter)."""
        items = await self._search("video", token, advertiser_id, video_ids, material_ids,
                                   width, height, displayable)
        return [VideoInfo.from_api(i) for i in items]

    async def search_images(
        self,
        token: str,
        advertiser_id: str,
        *,
        image_ids: Sequence[str] | None = None,
        material_ids: Sequence[str] | None = None,
        width: int | None = None,
        height: int | None = None,
        displayable: bool | None = None,
    ) -> list[ImageInfo]:
        """The ad account's asset-library images matching the filters, every page (spec §5.3)."""
        items = await self._search("image", token, advertiser_id, image_ids, material_ids,
                                   width, height, displayable)
        return [ImageInfo.from_api(i) for i in items]

    async def _search(
        self,
        kind: str,
        token: str,
        advertiser_id: str,
        ids: Sequence[str] | None,
        material_ids: Sequence[str] | None,
        width: int | None,
        height: int | None,
        displayable: bool | None,
    ) -> list[dict[str, Any]]:
        # spec §5.3 search filtering: `{kind}_ids`, material_ids (≤100), width, height,
        # displayable.
        filtering: dict[str, Any] = {}
        if ids:
            filtering[f"{kind}_ids"] = [id_str(i) for i in ids]
        if material_ids:
            filtering["material_ids"] = [id_str(i) for i in material_ids]
        sizes = {"width": width, "height": height, "displayable": displayable}
        filtering.update({k: v for k, v in sizes.items() if v is not None})
        params = {"advertiser_id": advertiser_id, "filtering": filtering or None}
        return await self._get_all_pages(
            f"file/{kind}/ad/search/", token, params, MATERIAL_SEARCH_PAGE_SIZE
        )

    async def _upload_file(
        self, kind: str, token: str, advertiser_id: str, content: bytes, file_name: str
    ) -> Mapping[str, Any]:
        # spec §5.1/§5.2: `{kind}_file` with its MD5 as `{kind}_signature`.
        fields = {
            "advertiser_id": advertiser_id,
            "upload_type": "UPLOAD_BY_FILE",
            f"{kind}_signature": hashlib.md5(content).hexdigest(),
            "file_name": file_name,
        }
        data = await self._upload(
            f"file/{kind}/ad/upload/", token, fields, f"{kind}_file", content, file_name
        )
        return _first_object(data)

    async def _upload_url(
        self, kind: str, token: str, advertiser_id: str, url: str, file_name: str | None
    ) -> Mapping[str, Any]:
        # spec §5.1/§5.2: TikTok fetches `{kind}_url` itself.
        fields = {
            "advertiser_id": advertiser_id,
            "upload_type": "UPLOAD_BY_URL",
            f"{kind}_url": url,
            "file_name": file_name,
        }
        return _first_object(await self._upload(f"file/{kind}/ad/upload/", token, fields))

    async def _upload(
        self,
        path: str,
        token: str,
        fields: Mapping[str, Any],
        file_field: str | None = None,
        content: bytes | None = None,
        file_name: str | None = None,
    ) -> Any:
        # spec §1.3: uploads are multipart/form-data (the official SDK uses it for every type).
        def build() -> aiohttp.FormData:
            form = aiohttp.FormData(default_to_multipart=True)
            for key, value in fields.items():
                if value is not None:
                    form.add_field(key, str(value))
            if file_field and content is not None:
                ctype = mimetypes.guess_type(file_name or "")[0] or "application/octet-stream"
                form.add_field(file_field, content, filename=file_name, content_type=ctype)
            return form

        # spec §5.1: uploads have no idempotency key and each one makes a new file, so a lost
        # reply is not resent here (core.creatives looks the file up by MD5 first).
        reply = await self.transport.call("POST", path, token=token, form=build, idempotent=False)
        return reply.data


def _first_object(data: Any) -> Mapping[str, Any]:
    # spec §5.1: video upload returns a one-element list; image upload an object.
    if isinstance(data, list):
        return as_mapping(data[0]) if data else {}
    mapping = as_mapping(data)
    if isinstance(mapping.get("list"), list) and mapping["list"]:
        return as_mapping(mapping["list"][0])
    return mapping
