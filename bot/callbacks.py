"""Callback payloads. Each stays far under Telegram's 64-byte callback_data limit (spec §1)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class SignupCb(CallbackData, prefix="su"):
    """A sign-up step's answer."""

    step: str
    value: str = ""


class MenuCb(CallbackData, prefix="mn"):
    """A main-menu section."""

    section: str


class SettingsCb(CallbackData, prefix="se"):
    """A settings action and its value."""

    action: str
    value: str = ""


class TicketCb(CallbackData, prefix="tk"):
    """An operator's "Reply" on a forwarded ticket (`user_id`: its owner; SQLite gives a deleted
    account's ticket number to the next ticket, so the number alone may name someone else's)."""

    ticket_id: int
    user_id: int


class CommentCb(CallbackData, prefix="cm"):
    """A comment action (`a`: hide, unhide, reply; `id` our comment row), a campaign watch
    toggle (`a`: pick, watch; `id` our ad account id, `c` TikTok's campaign id), a burst's Hide
    all / Undo (`a`: bhide, bundo; `id` our burst row) or the burst threshold (`a`: thr, `id`
    the number); every id is checked against the presser."""

    a: str
    id: int = 0
    c: str = ""


class AccountsCb(CallbackData, prefix="ac"):
    """Accounts screen actions; `id` is our account or connection id, checked against the owner."""

    action: str
    id: int = 0
    page: int = 0


class StatsCb(CallbackData, prefix="sx"):
    """A stats screen: view, account, level, parent object, period, page (all re-checked)."""

    v: str
    a: int = 0
    l: str = ""  # noqa: E741 - one letter keeps the payload far under 64 bytes
    o: str = ""
    p: str = "7d"
    n: int = 0


class RulesCb(CallbackData, prefix="ru"):
    """Rules screens: action, our rule or run id (checked against the presser), value, page."""

    a: str
    id: int = 0
    v: str = ""
    n: int = 0


class DraftCb(CallbackData, prefix="rd"):
    """A change to the rule draft kept in the presser's own conversation state."""

    a: str
    v: str = ""


class BuildCb(CallbackData, prefix="rb"):
    """A step of the guided rule builder."""

    a: str
    v: str = ""


class ActionCb(CallbackData, prefix="ap"):
    """A decision on a rule's action (approve, reject, other amount, undo); `id` is checked
    against the presser before anything happens."""

    a: str
    id: int
    v: str = ""  # "r" when pressed in a run's list (that screen is redrawn)


class DigestCb(CallbackData, prefix="dg"):
    """A digest's page or "Approve all" / "Reject all"; `id` is the digest's alert (outbox)
    id, checked against the presser before anything happens."""

    a: str
    id: int
    n: int = 0


class ManageCb(CallbackData, prefix="mg"):
    """Managing objects: action, our account id (or the change's id for ok/no/un), level code,
    object or parent id, period, change code, page (all re-checked against the presser)."""

    a: str
    id: int = 0
    l: str = ""  # noqa: E741 - one letter keeps the payload far under 64 bytes
    o: str = ""
    p: str = "7d"
    x: str = ""
    n: int = 0


class LaunchCb(CallbackData, prefix="ln"):
    """Launch wizard and history: action, an id (template, account, creative or our launch id,
    checked against the presser), page."""

    a: str
    id: int = 0
    n: int = 0


class TemplatesCb(CallbackData, prefix="tp"):
    """Templates screens: action, our template id (checked against the presser), page."""

    a: str
    id: int = 0
    n: int = 0


class TplEditCb(CallbackData, prefix="te"):
    """A change to the template draft kept in the presser's own conversation state: action,
    field key, ad group index, value (an index into the field's choices)."""

    a: str
    f: str = ""
    g: int = 0
    v: str = ""


class CreativeCb(CallbackData, prefix="cv"):
    """The creative library: action, our creative id (checked against the presser), page, and
    a value (a link's kind)."""

    a: str
    id: int = 0
    n: int = 0
    v: str = ""


class IdentityCb(CallbackData, prefix="ix"):
    """Identities: action, our ad account id (checked against the presser), page."""

    a: str
    id: int = 0
    n: int = 0


class AudienceCb(CallbackData, prefix="au"):
    """Audiences (issue 17): `a` pick, list, new (from a file), lal (make a lookalike), del
    (which to delete), delc (confirm) or dely (delete), `id`
    our ad account id (checked against the presser), `aud` a TikTok audience id of that
    account, `n` the picker's page."""

    a: str
    id: int = 0
    aud: str = ""
    n: int = 0


class PixelCb(CallbackData, prefix="px"):
    """Pixels (issue 17): `a` pick or list, `id` our ad account id (checked against the
    presser), `n` the picker's page."""

    a: str
    id: int = 0
    n: int = 0


class CatalogCb(CallbackData, prefix="ct"):
    """Catalogs (issue 17): `a` list, `n` the page. Carries no id: the screen only ever shows
    the presser's own connections' catalogs."""

    a: str
    n: int = 0


class TrackerCb(CallbackData, prefix="ig"):
    """Integrations (trackers): action, our tracker or link id (checked against the presser),
    a value (a kind, a zone, a currency, an index into a list kept in the presser's state),
    and a page."""

    a: str
    id: int = 0
    v: str = ""
    n: int = 0


class PrivacyDataCb(CallbackData, prefix="pd"):
    """/mydata's buttons; they act on the presser's own data only, so they carry no id."""

    a: str


class PrivacyCb(CallbackData, prefix="pr"):
    """Privacy screens: a policy or activity page, pause / resume and their confirmations (each
    acts on the presser's own account only)."""

    a: str
    n: int = 0


class WebSigninCb(CallbackData, prefix="ws"):
    """Settings → Web sign-in: show, link Google, unlink Google (each acts on the presser's own
    account only, so it carries no id)."""

    a: str


class NewsCb(CallbackData, prefix="nw"):
    """"🔕 Unsubscribe" under a news message; `u` is the recipient, checked against the presser."""

    a: str
    u: int


class EraseCb(CallbackData, prefix="er"):
    """An operator's erasure confirmation: the account, the reason, erase (1) or cancel (0);
    the presser is checked against ADMIN_IDS on every press."""

    u: int
    r: str
    ok: int = 0


class BillingCb(CallbackData, prefix="bl"):
    """Billing screen actions: `home`, `plans` (what each plan allows — the "Upgrade" under every
    limit message), `open`/`offers` (the same two as a new message, from a receipt or a billing
    alert, which stay), `buy` a plan for `days` (recurring when `r`), `history`,
    `cancel`/`resume` the subscription; the presser's own billing only."""

    action: str
    plan: str = ""
    days: int = 0
    r: int = 0
    page: int = 0


class AdminCb(CallbackData, prefix="ad"):
    """An operator console action on user `u` (0: none); the presser is checked against
    ADMIN_IDS on every press and a non-operator gets the stale-button reply."""

    a: str
    u: int = 0
    v: str = ""
