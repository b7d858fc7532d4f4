"""The data inventory: for every table and column that can hold personal or account data, what it
is (category), why it is kept (purpose, legal basis), for how long (retention) and what export and
erasure do with it. Export, erasure, the purge jobs and the privacy page are driven by it, and
tests/unit/test_privacy_inventory.py fails when a model column is not classified here — a new
table cannot ship without its privacy answer.

It lives in storage (not core) because it describes stored columns and storage's generic privacy
queries (storage/repos/privacy.py) walk it; core and the bot read it, imports still point down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import MetaData


class Category(StrEnum):
    """What kind of data a column holds (the privacy page groups by it)."""

    IDENTITY = "identity"  # who the user is: Telegram id, name, username
    CONTACT = "contact"  # how to reach them besides the chat: email
    CONSENT = "consent"  # what they agreed to, and when
    PREFERENCES = "preferences"  # language, time zone, quiet hours, pause
    CREDENTIALS = "credentials"  # TikTok tokens, tracker API keys (sealed)
    AD_DATA = "ad_data"  # synced TikTok accounts, structure and statistics
    TRACKER_DATA = "tracker_data"  # tracker connections, mapping, pulled revenue, push log
    AUTOMATION = "automation"  # rules, their runs and actions, templates, launches, creatives
    BILLING = "billing"  # payments in Telegram Stars
    SUPPORT = "support"  # tickets and their messages
    AUDIT = "audit"  # the activity / audit log
    TECHNICAL = "technical"  # delivery state, leases, conversation state, job bookkeeping


class Basis(StrEnum):
    """The legal basis for keeping it (GDPR Art. 6(1))."""

    CONTRACT = "contract"  # needed to provide the service the user signed up for
    CONSENT = "consent"  # only because the user opted in (marketing)
    LEGAL_OBLIGATION = "legal_obligation"  # tax and accounting law (billing)
    LEGITIMATE_INTEREST = "legitimate_interest"  # security, fraud prevention, traceability


class Purpose(StrEnum):
    """Why a table exists, in one word the privacy page translates."""

    ACCOUNT = "account"  # identify the user and talk to them in their language and time zone
    MARKETING = "marketing"  # news, only with consent
    TIKTOK = "tiktok"  # show and automate the connected TikTok ad accounts
    TRACKERS = "trackers"  # pass spend to trackers and read revenue back
    AUTOMATION = "automation"  # run the user's rules, templates and launches
    ALERTS = "alerts"  # deliver alerts and digests
    BILLING = "billing"  # charge for plans, keep the records the law asks for
    SUPPORT = "support"  # answer the user's requests
    SECURITY = "security"  # trace every change; show the user their activity
    OPERATION = "operation"  # keep background work exactly-once and resumable


class Retention(StrEnum):
    """How long rows are kept; the numbers are in RETENTION_DAYS."""

    ACCOUNT = "account"  # while the account exists; erased within 30 days of its deletion
    CONNECTION = "connection"  # deleted within 7 days of a disconnect, a revocation or deletion
    SHORT = "short"  # working state: deleted when done, at the latest at the account's deletion
    LAW = "law"  # kept for the legal period, the identity replaced by a pseudonym on deletion
    AUDIT = "audit"  # kept for traceability, the identity replaced by a pseudonym on deletion


# Days after the triggering event (disconnect, revocation or deletion request).
CONNECTION_DAYS = 7
ACCOUNT_DAYS = 30
LAW_YEARS = 10  # accounting records (a conservative reading of EU member states' rules)


class Erase(StrEnum):
    """What erasure does with a column of the user's rows."""

    DELETE = "delete"  # the row goes
    ANONYMISE = "anonymise"  # the value is replaced by a neutral one (None, "", {})
    PSEUDONYMISE = "pseudonymise"  # the user's id is replaced by their erasure pseudonym
    KEEP = "keep"  # kept as is (holds nothing that identifies the user once the rest is done)


@dataclass(frozen=True)
class Column:
    """One column's privacy answer."""

    category: Category
    export: bool  # included in /export
    erase: Erase = Erase.DELETE


@dataclass(frozen=True)
class Owner:
    """How a table's rows reach their user: a column holding the user's id directly
    (`column`), or a column pointing at a `parent` table's `id` whose rows reach the user."""

    column: str
    parent: str | None = None


@dataclass(frozen=True)
class Table:
    """One table's privacy answer; `columns` must name every column of the model."""

    name: str
    owner: Owner | None  # None: rows are not the user's (see `owner_note`)
    purpose: Purpose
    basis: Basis
    retention: Retention
    columns: dict[str, Column] = field(default_factory=dict)
    owner_note: str = ""  # how the user's rows are found when `owner` cannot say it

    @property
    def exported(self) -> bool:
        """`/export` includes at least one of its columns."""
        return any(c.export for c in self.columns.values())

    @property
    def keeps_rows(self) -> bool:
        """Erasure keeps the rows (pseudonymised) instead of deleting them."""
        return any(c.erase is not Erase.DELETE for c in self.columns.values())


def _cols(category: Category, export: bool, names: str, erase: Erase = Erase.DELETE
          ) -> dict[str, Column]:
    return {n: Column(category, export, erase) for n in names.split()}


C = Category
USER = Owner("user_id")

TABLES: dict[str, Table] = {t.name: t for t in (
    Table("users", Owner("id"), Purpose.ACCOUNT, Basis.CONTRACT, Retention.ACCOUNT, {
        **_cols(C.IDENTITY, True, "id first_name last_name username start_payload"),
        **_cols(C.CONTACT, True, "email"),
        **_cols(C.PREFERENCES, True, "language time_zone quiet_from quiet_to paused_at "
                "features"),
        **_cols(C.AUTOMATION, True, "comment_words negative_words burst_threshold"),
        **_cols(C.CONSENT, True, "adult_confirmed_at terms_accepted_at terms_version "
                "privacy_accepted_at marketing_opt_in marketing_consent_at "
                "marketing_withdrawn_at"),
        **_cols(C.TECHNICAL, True, "created_at updated_at deleted_at blocked_at"),
    }),
    Table("credentials", USER, Purpose.TIKTOK, Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.CREDENTIALS, False, "id user_id kind sealed key_id created_at rotated_at"),
    }),
    Table("oauth_states", USER, Purpose.TIKTOK, Basis.CONTRACT, Retention.SHORT, {
        **_cols(C.TECHNICAL, False, "nonce user_id connection_id created_at expires_at used_at"),
    }),
    Table("tiktok_connections", USER, Purpose.TIKTOK, Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.AD_DATA, True, "id user_id tiktok_user_id display_name status broken_reason "
                "broken_at disconnected_at purge_after scope created_at updated_at"),
        **_cols(C.CREDENTIALS, False, "credential_id"),
        **_cols(C.TECHNICAL, False, "lease_owner lease_until"),
    }),
    Table("ad_accounts", Owner("connection_id", "tiktok_connections"), Purpose.TIKTOK,
          Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.AD_DATA, True, "id connection_id advertiser_id name currency time_zone "
                "status bc_id bc_name tracked plan_paused_at fresh_as_of purge_after created_at "
                "updated_at"),
        **_cols(C.TECHNICAL, False, "lease_owner lease_until"),
    }),
    # Comments under the user's ads (issue 17): kept 30 days from when they were pulled
    # (core/comments.py COMMENT_DAYS), and with the connection at the latest.
    Table("comment_watches", Owner("ad_account_id", "ad_accounts"), Purpose.TIKTOK,
          Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.AD_DATA, True, "id ad_account_id campaign_id since created_at"),
        **_cols(C.TECHNICAL, False, "due_at lease_owner lease_until last_ok_at last_error"),
    }),
    # `author` is a third party's TikTok name, shown beside the comment as TikTok shows it.
    Table("ad_comments", Owner("ad_account_id", "ad_accounts"), Purpose.TIKTOK,
          Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.AD_DATA, True, "id ad_account_id comment_id ad_id adgroup_id campaign_id "
                "ad_name content author status created_time fetched_at auto_hidden_at matched "
                "burst_id pinned_at"),
        **_cols(C.TECHNICAL, False, "changed_at"),  # the change itself is in the audit log
    }),
    # Bursts of negative comments alerted on (issue 17): kept like their comments, 30 days
    # (core/comment_bursts.py purge_before), and with the connection at the latest.
    Table("comment_bursts", Owner("ad_account_id", "ad_accounts"), Purpose.ALERTS,
          Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.AD_DATA, True, "id ad_account_id ad_id ad_name count created_at hidden_at "
                "undone_at"),
    }),
    # "Tracking broken?" (issue 17, core/pixel_watch.py): per ad account the watch's lease, per
    # pixel event the last count read and the open incident; overwritten at every read, deleted
    # with the connection (and the user's pixels switch off stops them changing).
    Table("pixel_watches", Owner("ad_account_id", "ad_accounts"), Purpose.ALERTS,
          Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.TECHNICAL, False, "id ad_account_id due_at lease_owner lease_until last_ok_at "
                "last_error created_at"),
    }),
    Table("pixel_signals", Owner("ad_account_id", "ad_accounts"), Purpose.ALERTS,
          Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.AD_DATA, True, "id ad_account_id pixel_id event pixel_name event_name day "
                "count baseline_day baseline fired_at incident_at updated_at"),
    }),
    Table("sync_jobs", Owner("ad_account_id", "ad_accounts"), Purpose.OPERATION,
          Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.TECHNICAL, False, "id ad_account_id kind due_at lease_owner lease_until "
                "attempts last_error last_error_at last_ok_at"),
    }),
    Table("ad_objects", Owner("ad_account_id", "ad_accounts"), Purpose.TIKTOK, Basis.CONTRACT,
          Retention.CONNECTION, {
        **_cols(C.AD_DATA, True, "id ad_account_id level object_id campaign_id adgroup_id name "
                "operation_status secondary_status objective budget_mode budget "
                "budget_optimize_on bid_type bid created_time synced_at"),
        **_cols(C.TECHNICAL, False, "changed_at"),  # the change itself is in the audit log
    }),
    Table("ad_object_values", Owner("ad_account_id", "ad_accounts"), Purpose.AUTOMATION,
          Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.AD_DATA, True, "id ad_account_id level object_id field value valid_from"),
    }),
    # Statistics are exported as CSV per ad account and day (core/privacy/export.py), not JSON.
    Table("metrics_daily", Owner("ad_account_id", "ad_accounts"), Purpose.TIKTOK,
          Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.AD_DATA, True, "ad_account_id level object_id day spend impressions clicks "
                "conversions purchase_value synced_at"),
    }),
    Table("metrics_hourly", Owner("ad_account_id", "ad_accounts"), Purpose.AUTOMATION,
          Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.AD_DATA, True, "ad_account_id level object_id day hour spend impressions "
                "clicks conversions purchase_value synced_at"),
    }),
    # Derived from metrics_daily (its sums, for rules: storage/rule_sums.py); exported there.
    Table("rule_sums", Owner("ad_account_id", "ad_accounts"), Purpose.AUTOMATION,
          Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.AD_DATA, False, "ad_account_id level object_id as_of"),
        **_cols(C.AD_DATA, False, " ".join(
            f"s{s}_{f}" for s in range(11)
            for f in ("rows", "spend", "impressions", "clicks", "conversions", "purchase_value"))),
    }),
    Table("outbox", USER, Purpose.ALERTS, Basis.CONTRACT, Retention.SHORT, {
        **_cols(C.TECHNICAL, False, "id user_id kind dedup_key params created_at "
                "next_attempt_at lease_until attempts sent_at failed_at last_error sending_at "
                "tg_message_id batch merged_into"),
    }),
    # Which messages in the user's chat are the bot's: an in-doubt alert's probe edits none.
    Table("sent_messages", USER, Purpose.ALERTS, Basis.CONTRACT, Retention.SHORT, {
        **_cols(C.TECHNICAL, False, "user_id message_id asked_at answered_at outbox_id"),
    }),
    Table("rules", USER, Purpose.AUTOMATION, Basis.CONTRACT, Retention.ACCOUNT, {
        **_cols(C.AUTOMATION, True, "id user_id name text level settings enabled plan_paused_at "
                "last_run_at created_at updated_at"),
        **_cols(C.TECHNICAL, False, "due_at lease_owner lease_until stale_since"),
    }),
    Table("rule_runs", Owner("rule_id", "rules"), Purpose.AUTOMATION, Basis.CONTRACT,
          Retention.ACCOUNT, {
        **_cols(C.AUTOMATION, True, "id rule_id slot started_at finished_at data_as_of status "
                "checked matched acted proposed skipped note"),
    }),
    Table("rule_actions", USER, Purpose.AUTOMATION, Basis.CONTRACT, Retention.ACCOUNT, {
        **_cols(C.AUTOMATION, True, "id key rule_id run_id user_id ad_account_id level "
                "object_id object_name kind state params trigger before after error created_at "
                "expires_at decided_at decided_by applied_at undo_until undone_at reenable_at "
                "reenabled_at"),
        **_cols(C.TECHNICAL, False, "lease_until"),
    }),
    Table("templates", USER, Purpose.AUTOMATION, Basis.CONTRACT, Retention.ACCOUNT, {
        **_cols(C.AUTOMATION, True, "id user_id name document created_at updated_at"),
    }),
    Table("launches", USER, Purpose.AUTOMATION, Basis.CONTRACT, Retention.ACCOUNT, {
        **_cols(C.AUTOMATION, True, "id user_id template_id template_name document params state "
                "enabled run_at expires_at decided_at started_at finished_at created_at"),
        **_cols(C.TECHNICAL, False, "lease_owner lease_until progress_message_id"),
    }),
    Table("launch_items", Owner("launch_id", "launches"), Purpose.AUTOMATION, Basis.CONTRACT,
          Retention.ACCOUNT, {
        **_cols(C.AUTOMATION, True, "id launch_id seq level ad_account_id parent_seq name spec "
                "state tiktok_id error updated_at"),
        **_cols(C.TECHNICAL, False, "request_id attempts"),
    }),
    Table("creatives", USER, Purpose.AUTOMATION, Basis.CONTRACT, Retention.ACCOUNT, {
        **_cols(C.AUTOMATION, True, "id user_id kind name file_name mime_type size duration "
                "width height md5 source_url created_at"),
        **_cols(C.TECHNICAL, False, "tg_file_id thumbnail"),
    }),
    Table("creative_uploads", Owner("creative_id", "creatives"), Purpose.AUTOMATION,
          Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.AD_DATA, True, "id creative_id ad_account_id tiktok_id uploaded_at"),
    }),
    Table("trackers", USER, Purpose.TRACKERS, Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.TRACKER_DATA, True, "id user_id kind name base_url time_zone currency status "
                "plan_paused_at last_error failing_since last_ok_at discrepancy_pct "
                "disconnected_at purge_after created_at updated_at push_ok_at mapped_at"),
        **_cols(C.CREDENTIALS, False, "credential_id"),
        **_cols(C.TECHNICAL, False, "due_at lease_owner lease_until attempts"),
    }),
    Table("tracker_links", Owner("tracker_id", "trackers"), Purpose.TRACKERS, Basis.CONTRACT,
          Retention.CONNECTION, {
        **_cols(C.TRACKER_DATA, True, "id tracker_id ad_account_id tiktok_campaign_id pattern "
                "tracker_campaign_id tracker_campaign_name source id_fields created_at"),
    }),
    Table("tracker_daily", Owner("tracker_id", "trackers"), Purpose.TRACKERS, Basis.CONTRACT,
          Retention.CONNECTION, {
        **_cols(C.TRACKER_DATA, True, "ad_account_id level object_id day tracker_id clicks "
                "conversions pending rejected revenue pending_revenue pulled_at"),
    }),
    Table("tracker_unmapped", Owner("tracker_id", "trackers"), Purpose.TRACKERS,
          Basis.CONTRACT, Retention.CONNECTION, {
        **_cols(C.TRACKER_DATA, True, "tracker_id tracker_campaign_id day id_value clicks "
                "conversions revenue pulled_at"),
    }),
    Table("tracker_pushes", Owner("tracker_id", "trackers"), Purpose.TRACKERS, Basis.CONTRACT,
          Retention.CONNECTION, {
        **_cols(C.TRACKER_DATA, True, "id tracker_id tracker_campaign_id ad_account_id day "
                "id_field id_value tiktok_campaign_id spend spend_currency cost currency ok "
                "answer sent_at"),
    }),
    Table("fx_rates", USER, Purpose.TRACKERS, Basis.CONTRACT, Retention.ACCOUNT, {
        **_cols(C.PREFERENCES, True, "user_id base quote rate set_at"),
    }),
    Table("support_tickets", USER, Purpose.SUPPORT, Basis.CONTRACT, Retention.ACCOUNT, {
        **_cols(C.SUPPORT, True, "id user_id status created_at updated_at"),
    }),
    Table("support_messages", Owner("ticket_id", "support_tickets"), Purpose.SUPPORT,
          Basis.CONTRACT, Retention.ACCOUNT, {
        **_cols(C.SUPPORT, True, "id ticket_id author_id from_operator text created_at"),
    }),
    # aiogram's conversation state, keyed "fsm:<bot>:<chat>:<user>…" (DefaultKeyBuilder).
    Table("fsm_state", None, Purpose.OPERATION, Basis.CONTRACT, Retention.SHORT, {
        **_cols(C.TECHNICAL, False, "key state data updated_at"),
    }, owner_note="fsm_key"),
    # The user's own actions (actor_id) and actions on their user record (target "user").
    Table("audit_log", None, Purpose.SECURITY, Basis.LEGITIMATE_INTEREST, Retention.AUDIT, {
        "id": Column(C.AUDIT, True, Erase.KEEP),
        "actor_id": Column(C.AUDIT, True, Erase.PSEUDONYMISE),
        "action": Column(C.AUDIT, True, Erase.KEEP),
        "target_type": Column(C.AUDIT, True, Erase.KEEP),
        "target_id": Column(C.AUDIT, True, Erase.PSEUDONYMISE),
        "details": Column(C.AUDIT, True, Erase.ANONYMISE),
        "created_at": Column(C.AUDIT, True, Erase.KEEP),
    }, owner_note="audit"),
    Table("payments", USER, Purpose.BILLING, Basis.LEGAL_OBLIGATION, Retention.LAW, {
        "id": Column(C.BILLING, True, Erase.KEEP),
        "user_id": Column(C.BILLING, True, Erase.PSEUDONYMISE),
        "telegram_charge_id": Column(C.BILLING, True, Erase.KEEP),
        "provider_charge_id": Column(C.BILLING, True, Erase.KEEP),
        "currency": Column(C.BILLING, True, Erase.KEEP),
        "total_amount": Column(C.BILLING, True, Erase.KEEP),
        "payload": Column(C.BILLING, True, Erase.KEEP),
        "created_at": Column(C.BILLING, True, Erase.KEEP),
        **_cols(C.BILLING, True, "kind plan days recurring first_recurring expires_at "
                "refunded_at refunded_by granted_by", Erase.KEEP),
        # An operator's free text may name the user: blanked on erasure.
        "reason": Column(C.BILLING, True, Erase.ANONYMISE),
    }),
    # The ledger folded (core/billing/ledger.py): rebuilt from payments whenever needed.
    Table("entitlements", USER, Purpose.BILLING, Basis.CONTRACT, Retention.ACCOUNT, {
        **_cols(C.BILLING, True, "user_id state plan paid_until grace_until "
                "subscription_charge_id renews canceled_at"),
        **_cols(C.TECHNICAL, False, "reminded_end reminded_days applied_plan due_at lease_owner "
                "lease_until updated_at"),
    }),
    # The erasure's own bookkeeping: the Telegram id is dropped when the erasure finishes,
    # the pseudonym and dates stay as proof that it was done.
    Table("erasures", USER, Purpose.SECURITY, Basis.LEGAL_OBLIGATION, Retention.AUDIT, {
        "id": Column(C.TECHNICAL, False, Erase.KEEP),
        "user_id": Column(C.IDENTITY, False, Erase.ANONYMISE),
        "pseudonym": Column(C.TECHNICAL, False, Erase.KEEP),
        **_cols(C.TECHNICAL, False, "reason requested_by requested_at purge_after "
                "anonymise_after stage finished_at lease_owner lease_until attempts last_error",
                Erase.KEEP),
    }),
    Table("exports", USER, Purpose.ACCOUNT, Basis.CONTRACT, Retention.SHORT, {
        **_cols(C.TECHNICAL, False, "id user_id state requested_at finished_at expires_at "
                "size token error progress_message_id lease_owner lease_until attempts"),
    }),
    # The web dashboard's sign-in (web/, core/web_auth.py): only token digests are stored.
    Table("web_sessions", USER, Purpose.ACCOUNT, Basis.CONTRACT, Retention.SHORT, {
        **_cols(C.TECHNICAL, False, "id user_id created_at last_seen_at expires_at user_agent"),
    }),
    Table("web_signin_links", USER, Purpose.ACCOUNT, Basis.CONTRACT, Retention.SHORT, {
        **_cols(C.TECHNICAL, False, "id user_id created_at expires_at used_at"),
    }),
    # A Google account linked from the bot's settings to sign in to the dashboard: its `sub`
    # (Google's stable id of the account) and the email it had; unlinking deletes the row.
    Table("web_identities", USER, Purpose.ACCOUNT, Basis.CONTRACT, Retention.ACCOUNT, {
        **_cols(C.IDENTITY, True, "id user_id provider subject created_at last_used_at"),
        **_cols(C.CONTACT, True, "email"),
    }),
    # OpenID Connect round trips in progress and the bot's "link Google" offers (minutes).
    Table("web_oidc_flows", USER, Purpose.ACCOUNT, Basis.CONTRACT, Retention.SHORT, {
        **_cols(C.TECHNICAL, False, "id kind user_id nonce verifier created_at expires_at "
                "used_at"),
    }),
    # What an operator sent to many users (core/privacy/rights.py): kept as the record of what
    # went out; the operator's id is pseudonymised if they delete their own account.
    Table("broadcasts", Owner("operator_id"), Purpose.SECURITY, Basis.LEGITIMATE_INTEREST,
          Retention.AUDIT, {
        **_cols(C.AUDIT, True, "id key kind text created_at queued_at canceled_at recipients "
                "reported_at", Erase.KEEP),
        "operator_id": Column(C.AUDIT, True, Erase.PSEUDONYMISE),
    }),
    # Service-wide jobs' leases (core/billing/reconcile.py); a row names the operator who last
    # started it by hand.
    Table("operator_jobs", Owner("started_by"), Purpose.OPERATION, Basis.CONTRACT,
          Retention.SHORT, {
        **_cols(C.TECHNICAL, False, "name lease_owner lease_until started_by last_started_at "
                "last_finished_at last_result"),
    }),
)}


def owner_chain(table: Table) -> list[Table]:
    """The tables from `table` up to the one holding the user's id (itself first)."""
    chain = [table]
    while chain[-1].owner is not None and chain[-1].owner.parent is not None:
        chain.append(TABLES[chain[-1].owner.parent])
    return chain


def categories_of(table: Table) -> set[Category]:
    """The categories a table's columns hold."""
    return {c.category for c in table.columns.values()}


def inventory_problems(metadata: MetaData) -> list[str]:
    """What the inventory leaves unanswered for these tables (empty: every column classified)."""
    problems: list[str] = []
    for table in metadata.sorted_tables:
        entry = TABLES.get(table.name)
        if entry is None:
            problems.append(f"{table.name}: table not in storage/inventory.py")
            continue
        for column in table.columns:
            if column.name not in entry.columns:
                problems.append(
                    f"{table.name}.{column.name}: not classified in storage/inventory.py")
        for name in entry.columns.keys() - {c.name for c in table.columns}:
            problems.append(f"{table.name}.{name}: in the inventory but not a column")
    for name in TABLES.keys() - set(metadata.tables):
        problems.append(f"{name}: in the inventory but not a table")
    return problems
