"""Webhook delivery in the sandbox: per-chat queues, retries on failure like Telegram, a
method in the webhook reply run as a call (spec §5.3)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.telegram.engine import (
    ENGINE_KEY,
    BotApiError,
    Engine,
    update_kind,
)
from sandbox.telegram.media import Upload
from sandbox.telegram.methods import (
    METHODS,
    Params,
)


def webhook_queue(update: dict[str, Any]) -> int | None:
    """The chat (or, without one, the user) whose updates are delivered in order; None: any.

    tdlib/telegram-bot-api (WebhookActor.cpp) keeps one queue per chat and sends a queue's next
    update only after the previous one was answered OK; a failed one stays first and is retried.
    """
    payload = update.get(update_kind(update))
    if not isinstance(payload, dict):
        return None
    chat = payload.get("chat")
    if chat is None and isinstance(payload.get("message"), dict):
        chat = payload["message"].get("chat")  # a callback query's message
    if isinstance(chat, dict) and "id" in chat:
        return int(chat["id"])
    sender = payload.get("from") or payload.get("user")
    if isinstance(sender, dict) and "id" in sender:
        return int(sender["id"])
    return None


def _deliverable(engine: Engine, now: float) -> tuple[list[dict[str, Any]], float | None]:
    """Updates that may be POSTed now, in update_id order, and when the next retry falls due.

    With webhook_chat_order only the oldest undelivered update of a chat is a candidate, and
    only while none of that chat's updates is in flight (a failed one keeps its place).
    """
    state = engine.state
    busy_chats: set[int | None] = set()
    if engine.config.webhook_chat_order:
        busy_chats = {
            webhook_queue(u) for u in state.updates if u["update_id"] in state.webhook_in_flight
        }
    seen: set[int | None] = set()
    ready: list[dict[str, Any]] = []
    next_retry: float | None = None
    for update in state.updates:
        update_id = update["update_id"]
        if not engine.update_allowed(update) or update_id in state.webhook_in_flight:
            continue
        queue = webhook_queue(update) if engine.config.webhook_chat_order else None
        if queue is not None and (queue in busy_chats or queue in seen):
            continue
        if queue is not None:
            seen.add(queue)
        _, retry_at = state.webhook_retry.get(update_id, (0, 0.0))
        if retry_at > now:
            next_retry = retry_at if next_retry is None else min(next_retry, retry_at)
            continue
        ready.append(update)
    return ready, next_retry


async def _deliver(
    engine: Engine, session: aiohttp.ClientSession, url: str, update: dict[str, Any]
) -> tuple[bool, float | None]:
    """POST one update: (2xx?, the answer's Retry-After seconds if any). Records the attempt
    and any error (§5.2)."""
    state = engine.state
    headers = {}
    if state.webhook.get("secret_token"):
        headers["X-Telegram-Bot-Api-Secret-Token"] = state.webhook["secret_token"]
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    timeout = aiohttp.ClientTimeout(total=engine.config.webhook_timeout)
    try:
        async with session.post(url, json=update, headers=headers, timeout=timeout) as resp:
            status = resp.status
            if 200 <= resp.status < 300:
                await _run_webhook_reply(engine, resp)
            else:
                error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
                # telegram-bot-api honours the webhook's Retry-After (WebhookActor.cpp
                # on_update_error, clamped to an hour) instead of its own back-off.
                with contextlib.suppress(KeyError, ValueError):
                    retry_after = min(3600.0, max(0.0, float(resp.headers["Retry-After"])))
    except TimeoutError:
        error = "Read timeout expired"
    except aiohttp.ClientError as exc:
        error = f"Connection failed: {exc}"
    state.webhook_deliveries.append(
        {"update_id": update["update_id"], "status": status, "error": error, "at": time.monotonic()}
    )
    if error is not None:
        state.webhook["last_error_date"] = engine.clock.now()
        state.webhook["last_error_message"] = error
    return error is None, retry_after


async def _deliver_one(
    engine: Engine, session: aiohttp.ClientSession, url: str, update: dict[str, Any]
) -> None:
    state = engine.state
    update_id = update["update_id"]
    try:
        ok, retry_after = await _deliver(engine, session, url, update)
        if ok and engine.config.webhook_duplicates > 0:
            # Telegram re-sends an update whose answer it did not get in time, even if the bot
            # handled it: the same update_id arrives a second time.
            engine.config.webhook_duplicates -= 1
            await _deliver(engine, session, url, update)
        if ok:
            state.updates = [u for u in state.updates if u["update_id"] != update_id]
            state.webhook_retry.pop(update_id, None)
        else:
            failures, _ = state.webhook_retry.get(update_id, (0, 0.0))
            delay = min(
                engine.config.webhook_retry_max, engine.config.webhook_retry_base * 2**failures
            )
            if retry_after is not None:
                delay = retry_after
            state.webhook_retry[update_id] = (failures + 1, time.monotonic() + delay)
    finally:
        state.webhook_in_flight.discard(update_id)
        state.wake()


async def webhook_loop(app: web.Application) -> None:
    """Deliver queued updates to the webhook URL with the secret header (§5.2): up to
    max_connections at once, a chat's in order (webhook_chat_order), failures retried with
    doubling back-off, the next N delivered twice (webhook_duplicates)."""
    engine: Engine = app[ENGINE_KEY]
    state = engine.state
    tasks: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:
        try:
            while not engine.closing:
                url = state.webhook.get("url")
                room = int(state.webhook.get("max_connections", 40)) - len(tasks)
                ready, next_retry = _deliverable(engine, time.monotonic()) if url else ([], None)
                for update in ready[: max(0, room)]:
                    state.webhook_in_flight.add(update["update_id"])
                    task = asyncio.create_task(_deliver_one(engine, session, url, update))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                # Sleep until something changes: a new update, an answer, or a retry falling due.
                wait = 1.0 if url else None
                if next_retry is not None:
                    wait = max(0.01, min(wait or 1.0, next_retry - time.monotonic()))
                event = state.update_event
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await event.wait()
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=2)
            state.webhook_in_flight.clear()


async def _run_webhook_reply(engine: Engine, resp: aiohttp.ClientResponse) -> None:
    """A webhook reply may itself be a method call (spec §5.2, handle_in_background=False)."""
    values: dict[str, Any] = {}
    if resp.content_type == "application/json":
        body = await resp.json(content_type=None)
        if isinstance(body, dict):
            values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
    elif resp.content_type.startswith("multipart/"):
        reader = aiohttp.MultipartReader(resp.headers, resp.content)
        while True:
            part = await reader.next()
            if part is None:
                break
            if isinstance(part, aiohttp.BodyPartReader) and part.name:
                if part.filename is not None:
                    values[part.name] = Upload(
                        part.filename,
                        part.headers.get("Content-Type"),
                        bytes(await part.read(decode=False)),
                    )
                else:
                    values[part.name] = await part.text()
    name = values.pop("method", None)
    if not isinstance(name, str):
        return
    params = Params(values)
    handler = METHODS.get(name.lower())
    error: BotApiError | None = None
    try:
        if handler is None:
            raise BotApiError(404, "Not Found")
        await handler(engine, params)
    except BotApiError as exc:
        error = exc
    engine.log_request(name, params.loggable(), error)
