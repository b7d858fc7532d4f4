"""Terminal chat client for people: talk to the bot through the sandbox server, line by line.

Run `python -m sandbox.telegram.chat --server URL --user-id N`. Plain line input (no curses),
so tmux or a pipe can drive it. Web steps (an OAuth consent page) can be completed from the
terminal with /open: links and form buttons become numbered choices.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import aiohttp

from sandbox.telegram.driver import ChatUser, MessageView, SandboxClient, SandboxError
from sandbox.telegram.engine import INVOICE_LINK_RE
from sandbox.telegram.html_check import render_entities
from sandbox.telegram.web_page import Choice, PageParser

HELP = """\
TTPulse sandbox chat — you are user {user_id}. Type a message and press Enter.
  N            press button N of the newest message with buttons
  N.M          press button M of message #N
  /press TEXT  press the button labelled TEXT
  /pay [N]     pay the newest invoice or invoice link (or invoice #N)
  /subs        your subscriptions · /unsub N  cancel renewal of N · /resub N  turn it back on
  /open X      open a URL, or URL button N / N.M; then pick links and form buttons by number
  /close       leave the web page
  /app [URL]   the Mini App (the bot's menu button, or the dashboard) with your signed login
  /photo PATH [caption] · /doc PATH [caption]   send a file
  /history     show the whole chat again
  'TEXT        send TEXT as typed: '150 when the bot asks for an amount (150 presses a button)
  ?            this help          //text  send "/text" literally          /quit  exit
Anything else starting with / (like /start) goes to the bot as a command.
Files the bot sends are saved to {downloads}."""

RESUME_WITH = 6  # messages printed at start of a chat kept from an earlier run
_CLIENT_COMMANDS = ("/quit", "/exit", "/press", "/pay", "/open", "/close", "/photo", "/doc",
                    "/history", "/subs", "/unsub", "/resub", "/app")
_LINK_IN_TEXT = re.compile(r"(?:https?://)?(?:www\.)?(?:t|telegram)\.me/\$[A-Za-z0-9_-]+")
_TG_HOSTS = ("t.me", "www.t.me", "telegram.me", "www.telegram.me")


def invoice_links(msg: MessageView) -> list[str]:
    """Invoice links (https://t.me/$...) a message carries: in its text, its text links or
    its URL buttons."""
    found = _LINK_IN_TEXT.findall(msg.text or "")
    found += [e["url"] for e in msg.raw.get("entities") or [] if e.get("url")]
    found += [b.url for row in msg.buttons for b in row if b.url]
    return [url for url in dict.fromkeys(found) if INVOICE_LINK_RE.match(url)]


def _stamp(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M UTC")


def deep_link_payload(url: str) -> str | None:
    """For https://t.me/<bot>?start=PAYLOAD (or tg://resolve) the /start text, else None."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    is_web_link = parts.scheme in ("http", "https") and parts.hostname in _TG_HOSTS
    is_tg_link = parts.scheme == "tg" and parts.netloc == "resolve"
    if not (is_web_link or is_tg_link):
        return None
    payload = query.get("start", [""])[0]
    # Spec §1: the bot receives the text "/start PAYLOAD".
    return f"/start {payload}" if payload else "/start"


# --------------------------------------------------------------------------- the client
class TerminalChat:
    """State of one terminal chat session."""

    def __init__(
        self,
        client: SandboxClient,
        user: ChatUser,
        stdin: TextIO,
        stdout: TextIO,
        downloads_dir: Path,
        color: bool,
        reply_wait: float,
        app_url: str | None = None,
    ) -> None:
        self.client = client
        self.app_url = app_url  # the dashboard, for /app when the bot set no menu button
        self.user = user
        self.stdin = stdin
        self.stdout = stdout
        self.downloads_dir = downloads_dir
        self.color = color
        self.reply_wait = reply_wait
        self.printed: dict[int, int] = {}  # message_id -> seq printed
        self.saved: set[str] = set()
        self.answers_seen = 0
        self.messages: list[MessageView] = []
        self.lock = asyncio.Lock()
        self.last_change = 0.0
        self.web: aiohttp.ClientSession | None = None
        self.page: list[Choice] = []
        self.lines: asyncio.Queue[str] | None = None

    # ------------------------------------------------------------------ output
    def out(self, text: str = "") -> None:
        """Print a line and flush (pipes and tmux need it)."""
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def _bold(self) -> tuple[str, str]:
        return ("\033[1m", "\033[0m") if self.color else ("**", "**")

    def render(self, msg: MessageView, edited: bool) -> str:
        """A message as terminal lines."""
        who = "bot" if msg.from_bot else "you"
        tag = f"[{who} #{msg.message_id}{' edited' if edited else ''}]"
        if msg.deleted:
            return f"[{who} #{msg.message_id} deleted]"
        body = render_entities(msg.text, msg.raw.get("entities") or [], self._bold())
        lines: list[str] = []
        if msg.kind == "invoice" and msg.invoice:
            inv = msg.invoice
            body = (f"INVOICE {inv['title']} — {inv['description']} — {inv['total_amount']} "
                    f"{'⭐ (XTR)' if inv['currency'] == 'XTR' else inv['currency']}. "
                    f"Type /pay {msg.message_id} to pay.")
        elif msg.kind == "successful_payment" and msg.successful_payment:
            pay = msg.successful_payment
            body = (f"paid {pay['total_amount']} {pay['currency']} "
                    f"(charge {pay['telegram_payment_charge_id']})")
            if pay.get("subscription_expiration_date"):
                what = "subscription" if pay.get("is_first_recurring") else "renewal"
                body += f", {what} until {_stamp(pay['subscription_expiration_date'])}"
        elif msg.kind == "refunded_payment":
            body = f"refund of {msg.raw.get('refunded_payment', {}).get('total_amount')} XTR"
        elif msg.kind in ("photo", "document", "video"):
            name = (msg.file or {}).get("file_name") or msg.kind
            body = f"<{msg.kind}: {name}>" + (f" {body}" if body else "")
        lines.append(f"{tag} {body}")
        number = 0
        for row in msg.buttons:
            cells = []
            for button in row:
                number += 1
                mark = " ↗" if button.url else (" (pay)" if button.pay else "")
                cells.append(f"[{number}] {button.text}{mark}")
            lines.append("    " + "  ".join(cells))
        if msg.from_bot and invoice_links(msg):
            lines.append("    (an invoice link: type /pay to pay it)")
        return "\n".join(lines)

    async def resume(self, keep: int = RESUME_WITH) -> None:
        """A chat kept from an earlier run (the demo's data/): only its last `keep` messages are
        printed at start; /history shows the rest."""
        messages = await self.user.messages()
        earlier = messages[:-keep] if len(messages) > keep else []
        for msg in earlier:
            self.printed[msg.message_id] = msg.seq
        if earlier:
            self.out(f"({len(earlier)} earlier messages: /history shows them)")

    async def refresh(self) -> bool:
        """Fetch the chat and print what is new or changed; True if anything was."""
        async with self.lock:
            try:
                messages = await self.user.messages()
            except (aiohttp.ClientError, SandboxError) as exc:
                self.out(f"(server unreachable: {exc})")
                return False
            self.messages = messages
            changed = False
            for msg in messages:
                seen = self.printed.get(msg.message_id)
                if seen == msg.seq:
                    continue
                self.printed[msg.message_id] = msg.seq
                changed = True
                self.out(self.render(msg, edited=seen is not None and not msg.deleted))
                if msg.from_bot and msg.file and not msg.deleted:
                    await self._save_file(msg)
            answers = await self.user.callback_answers()
            for answer in answers[self.answers_seen:]:
                if answer.get("text"):
                    kind = "alert" if answer.get("show_alert") else "notice"
                    self.out(f"({kind} from bot: {answer['text']})")
                    changed = True
            self.answers_seen = len(answers)
            if changed:
                self.last_change = asyncio.get_running_loop().time()
            return changed

    async def _save_file(self, msg: MessageView) -> None:
        assert msg.file is not None
        path = msg.file.get("download_path")
        if not path or msg.file["file_id"] in self.saved:
            return
        self.saved.add(msg.file["file_id"])
        name = msg.file.get("file_name") or Path(msg.file.get("file_path", msg.kind)).name
        target = self.downloads_dir / f"{msg.message_id}_{Path(name).name}"
        try:
            content = await self.client.download(path)
        except aiohttp.ClientError as exc:
            self.out(f"    (could not download {name}: {exc})")
            return
        self.downloads_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(target.write_bytes, content)
        self.out(f"    ({msg.kind} saved to {target})")

    async def settle(self) -> None:
        """After an action, wait for the bot's reaction: the first change, then a short quiet."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        while True:
            await asyncio.sleep(0.1)
            await self.refresh()
            now = loop.time()
            reacted = self.last_change >= start
            if reacted and now - self.last_change >= 0.4:
                return
            if not reacted and now - start >= self.reply_wait:
                return
            if now - start >= self.reply_wait + 5:
                return

    # ------------------------------------------------------------------ input
    async def read_line(self) -> str | None:
        """Next input line, or None at end of input."""
        try:
            self.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            line = self.stdin.readline()  # an in-memory script: never blocks
        else:
            if self.lines is None:
                self.lines = asyncio.Queue()
                loop = asyncio.get_running_loop()
                # A daemon thread, so a pending readline never holds up the exit (Ctrl-C).
                threading.Thread(target=self._pump, args=(loop, self.lines), daemon=True,
                                 name="chat-stdin").start()
            line = await self.lines.get()
        return None if line == "" else line.rstrip("\r\n")

    def _pump(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str]) -> None:
        while True:
            line = self.stdin.readline()
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(queue.put_nowait, line)
            if line == "":
                return

    async def handle(self, line: str) -> bool:
        """Act on one input line; False means quit."""
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit"):
            return False
        if self.page and re.fullmatch(r"\d+", text):
            await self.pick(int(text))
            return True
        if text == "/close":
            self.page = []
            self.out("(left the web page)")
            return True
        if self.page:
            self.page = []
        if text == "?":
            self.out(HELP.format(user_id=self.user.user_id, downloads=self.downloads_dir))
        elif re.fullmatch(r"\d+(\.\d+)?", text):
            await self.press_number(text)
        elif text.startswith(("//", "'")):
            await self.send(text[1:])
        elif text.split(" ", 1)[0] in _CLIENT_COMMANDS:
            await self.client_command(text)
        else:
            await self.send(text)
        return True

    async def send(self, text: str) -> None:
        """Send text as the user."""
        try:
            await self.user.send(text)
        except SandboxError as exc:
            self.out(f"(not sent: {exc})")
            return
        await self.settle()

    def _button_target(self, spec: str) -> tuple[MessageView, int] | None:
        live = [m for m in self.messages if m.from_bot and not m.deleted and m.buttons]
        if "." in spec:
            mid, num = (int(x) for x in spec.split(".", 1))
            target = next((m for m in live if m.message_id == mid), None)
        else:
            num = int(spec)
            target = live[-1] if live else None
        if target is None:
            self.out("(no message with buttons there)")
            return None
        count = len(target.button_labels())
        if not 1 <= num <= count:
            self.out(f"(message #{target.message_id} has buttons 1-{count};"
                     f" to send {spec} as text, type '{spec})")
            return None
        return target, num

    async def press_number(self, spec: str) -> None:
        """Press button N (newest message with buttons) or N.M (message #N)."""
        await self.refresh()
        found = self._button_target(spec)
        if found is None:
            return
        msg, num = found
        button = [b for row in msg.buttons for b in row][num - 1]
        if button.url:
            await self.open_url(button.url)
            return
        if button.web_app:
            await self.mini_app(button.web_app)
            return
        if button.pay:
            await self.pay(msg.message_id)
            return
        try:
            result = await self.user.press(button.text, msg.message_id)
        except SandboxError as exc:
            self.out(f"(press failed: {exc})")
            return
        if "callback_query_id" not in result:
            self.out(f"(this button can't be used here: {result.get('button', result)})")
        await self.settle()

    async def pay(self, message_id: int | None) -> None:
        """Pay invoice #N, or the newest invoice or invoice link the bot sent."""
        await self.refresh()
        if message_id is None:
            newest: int | str | None = None
            for msg in self.messages:
                if not msg.from_bot or msg.deleted:
                    continue
                if msg.kind == "invoice":
                    newest = msg.message_id
                elif links := invoice_links(msg):
                    newest = links[0]
            if newest is None:
                self.out("(no invoice to pay)")
                return
            if isinstance(newest, str):
                await self.pay_link(newest)
                return
            message_id = newest
        self.out(f"(paying invoice #{message_id}...)")
        try:
            result = await self.user.pay(message_id)
        except SandboxError as exc:
            self.out(f"(payment failed: {exc})")
            return
        if not result.get("ok"):
            self.out(f"(payment declined: {result.get('error_message')})")
        await self.settle()

    async def pay_link(self, url: str) -> None:
        """Pay an invoice link."""
        self.out(f"(paying invoice link {url}...)")
        try:
            result = await self.user.pay_link(url)
        except SandboxError as exc:
            self.out(f"(payment failed: {exc})")
            return
        if not result.get("ok"):
            self.out(f"(payment declined: {result.get('error_message')})")
        await self.settle()

    async def show_subscriptions(self) -> list[dict[str, Any]]:
        """/subs: my subscriptions, numbered, with their state and next date."""
        try:
            subs = await self.user.subscriptions()
        except SandboxError as exc:
            self.out(f"(could not list subscriptions: {exc})")
            return []
        if not subs:
            self.out("(no subscriptions)")
        for number, sub in enumerate(subs, 1):
            when = {"active": "renews", "canceled": "ends"}.get(sub["state"], "ended")
            by = f" by the {sub['canceled_by']}" if sub["state"] == "canceled" else ""
            failed = " (payment failed)" if sub["failed"] else ""
            self.out(f"  [{number}] {sub['title']} — {sub['amount']} ⭐ / 30 days — "
                     f"{sub['state']}{by}{failed}, {when} {_stamp(sub['expires_at'])}")
        return subs

    async def edit_subscription(self, arg: str, action: str) -> None:
        """/unsub N or /resub N: cancel or re-enable renewal of subscription N of /subs."""
        if not arg.isdigit():
            self.out(f"(usage: /{'unsub' if action == 'cancel' else 'resub'} N, N from /subs)")
            return
        try:
            subs = await self.user.subscriptions()
        except SandboxError as exc:
            self.out(f"(could not list subscriptions: {exc})")
            return
        if not 1 <= int(arg) <= len(subs):
            self.out(f"(no subscription {arg}; /subs lists them)")
            return
        sub = subs[int(arg) - 1]
        try:
            await self.user.subscription(sub["first_charge_id"], action)
        except SandboxError as exc:
            self.out(f"(not changed: {exc.body.get('error', exc)})")
            return
        self.out(f"({sub['title']}: renewal {'canceled' if action == 'cancel' else 'on'})")
        await self.settle()

    async def client_command(self, text: str) -> None:
        """Commands of the terminal client itself."""
        command, _, arg = text.partition(" ")
        arg = arg.strip()
        if command == "/press":
            try:
                result = await self.user.press(arg)
            except SandboxError as exc:
                self.out(f"(press failed: {exc})")
                return
            if "url" in result:
                await self.open_url(result["url"])
                return
            if "web_app_url" in result:
                self._show_mini_app(result["web_app_url"])
                return
            await self.settle()
        elif command == "/app":
            await self.mini_app(arg or None)
        elif command == "/pay":
            await self.pay(int(arg) if arg.isdigit() else None)
        elif command == "/open":
            await self.open_arg(arg)
        elif command in ("/photo", "/doc"):
            await self.send_file("photo" if command == "/photo" else "document", arg)
        elif command == "/subs":
            await self.show_subscriptions()
        elif command in ("/unsub", "/resub"):
            await self.edit_subscription(arg, "cancel" if command == "/unsub" else "resume")
        elif command == "/history":
            async with self.lock:
                for msg in self.messages:
                    self.out(self.render(msg, edited=msg.edit_count > 0))

    async def send_file(self, kind: str, arg: str) -> None:
        """Send a local file as a photo or document."""
        path_text, _, caption = arg.partition(" ")
        path = Path(path_text)
        if not await asyncio.to_thread(path.is_file):
            self.out(f"(no such file: {path})")
            return
        content = await asyncio.to_thread(path.read_bytes)
        try:
            await self.user.send_file(kind, path.name, content, caption=caption or None)
        except SandboxError as exc:
            self.out(f"(not sent: {exc})")
            return
        await self.settle()

    # ------------------------------------------------------------------ web
    async def mini_app(self, url: str | None) -> None:
        """Print the URL a Telegram client would open for a Mini App: `url`, else the bot's
        menu button, else the dashboard the demo runs; the launch data is signed for this user.
        (A terminal cannot run the page's JavaScript: open it in a browser.)"""
        try:
            signed = await self.user.web_app_url(url or None)
        except SandboxError:
            if not self.app_url:
                self.out("(no Mini App: the bot set no web_app menu button)")
                return
            signed = await self.user.web_app_url(self.app_url)
        self._show_mini_app(signed)

    def _show_mini_app(self, url: str) -> None:
        self.out(f"(Mini App for user {self.user.user_id} — open in a browser:)\n{url}")

    async def open_arg(self, arg: str) -> None:
        """/open URL, /open N or /open N.M (a URL button)."""
        if re.fullmatch(r"\d+(\.\d+)?", arg):
            await self.refresh()
            found = self._button_target(arg)
            if found is None:
                return
            msg, num = found
            button = [b for row in msg.buttons for b in row][num - 1]
            if not button.url:
                self.out("(that button is not a link)")
                return
            arg = button.url
        if not arg:
            self.out("(usage: /open URL or /open N)")
            return
        await self.open_url(arg)

    def _web_session(self) -> aiohttp.ClientSession:
        if self.web is None:
            # unsafe=True keeps cookies for IP-address hosts like 127.0.0.1.
            self.web = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        return self.web

    async def open_url(self, url: str, method: str = "GET",
                       data: list[tuple[str, str]] | None = None) -> None:
        """Fetch a page (following redirects by hand to catch t.me deep links) and show it."""
        session = self._web_session()
        for _ in range(10):
            if INVOICE_LINK_RE.match(url):
                self.page = []
                await self.pay_link(url)
                return
            start = deep_link_payload(url)
            if start is not None:
                self.page = []
                self.out(f"(deep link {url} → sending {start!r})")
                await self.send(start)
                return
            if not url.startswith(("http://", "https://")):
                self.out(f"(can't open {url})")
                return
            self.out(f"(web {method} {url})")
            try:
                async with session.request(method, url, data=data if method != "GET" else None,
                                           allow_redirects=False,
                                           timeout=aiohttp.ClientTimeout(total=15)) as resp:
                    if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                        url = urljoin(url, resp.headers["Location"])
                        if resp.status in (301, 302, 303):
                            method, data = "GET", None
                        continue
                    body = await resp.text(errors="replace")
                    status, ctype, final = resp.status, resp.content_type, str(resp.url)
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.out(f"(web error: {exc})")
                return
            self.show_page(final, status, ctype, body)
            return
        self.out("(too many redirects)")

    def show_page(self, url: str, status: int, ctype: str, body: str) -> None:
        """Print a page's text and its numbered choices."""
        self.out(f"--- web page {url} (HTTP {status}) ---")
        if "html" not in ctype:
            self.out(body[:2000])
            self.page = []
            self.out("--- (not HTML; /close or type to go back to the chat) ---")
            return
        parser = PageParser(url)
        parser.feed(body)
        parser.close()
        if parser.title.strip():
            self.out(f"title: {' '.join(parser.title.split())}")
        text = parser.visible_text()
        self.out(text[:3000] + ("…" if len(text) > 3000 else ""))
        self.page = parser.choices
        if not self.page:
            self.out("--- no links or buttons; type to go back to the chat ---")
            return
        for index, choice in enumerate(self.page, 1):
            where = f"{choice.method} {choice.url}" if choice.kind == "form" else choice.url
            label = "button" if choice.kind == "form" else "link"
            self.out(f"  [{index}] {label}: {choice.label}  → {where}")
        self.out("--- pick a number, /close to leave ---")

    async def pick(self, number: int) -> None:
        """Follow link or submit form number N of the current page."""
        if not 1 <= number <= len(self.page):
            self.out(f"(choose 1-{len(self.page)})")
            return
        choice = self.page[number - 1]
        if choice.kind == "link":
            await self.open_url(choice.url)
            return
        values = list(choice.fields)
        for name, kind in choice.prompts:
            self.out(f"field {name} ({kind}):")
            answer = await self.read_line()
            values.append((name, answer or ""))
        if choice.method == "GET":
            parts = urlsplit(choice.url)
            query = urlencode(values)
            await self.open_url(urlunsplit(parts._replace(query=query)))
        else:
            await self.open_url(choice.url, choice.method, values)

    async def poll_forever(self, interval: float) -> None:
        """Background refresh so messages the bot sends on its own show up."""
        while True:
            await asyncio.sleep(interval)
            await self.refresh()

    async def aclose(self) -> None:
        """Release the web session."""
        if self.web is not None:
            await self.web.close()


async def run_chat(
    server_url: str,
    user_id: int,
    first_name: str = "Tester",
    language_code: str = "en",
    *,
    last_name: str | None = None,
    username: str | None = None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    downloads_dir: str | Path = "data/chat_downloads",
    color: bool | None = None,
    reply_wait: float = 3.0,
    poll_interval: float = 0.5,
    app_url: str | None = None,
) -> None:
    """Run the terminal chat until /quit or end of input."""
    if color is None:
        color = bool(getattr(stdout, "isatty", lambda: False)())
    async with SandboxClient(server_url) as client:
        user = await client.user(user_id, first_name, language_code, last_name, username)
        chat = TerminalChat(client, user, stdin, stdout, Path(downloads_dir), color, reply_wait,
                            app_url)
        chat.out(HELP.format(user_id=user_id, downloads=downloads_dir))
        await chat.resume()
        await chat.refresh()
        poller = asyncio.create_task(chat.poll_forever(poll_interval))
        try:
            while True:
                line = await chat.read_line()
                if line is None or not await chat.handle(line):
                    break
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            await chat.aclose()
        chat.out("(bye)")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Terminal chat with the sandbox Telegram bot")
    parser.add_argument("--server", required=True, help="sandbox server URL")
    parser.add_argument("--user-id", type=int, required=True)
    parser.add_argument("--first-name", default="Tester")
    parser.add_argument("--last-name", default=None)
    parser.add_argument("--username", default=None)
    parser.add_argument("--language-code", default="en")
    parser.add_argument("--downloads", default="data/chat_downloads")
    parser.add_argument("--no-color", action="store_true")
    parser.add_argument("--app-url", default=None, help="the dashboard, for /app")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_chat(
            args.server, args.user_id, args.first_name, args.language_code,
            last_name=args.last_name, username=args.username,
            downloads_dir=args.downloads, color=False if args.no_color else None,
            app_url=args.app_url,
        ))


if __name__ == "__main__":
    main()
