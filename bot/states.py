"""Conversation states."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class SignUpStates(StatesGroup):
    """The steps of sign-up, in order."""

    language = State()
    age = State()
    terms = State()
    time_zone = State()
    email = State()
    marketing = State()


class SettingsStates(StatesGroup):
    """Settings that take typed input."""

    time_zone = State()
    email = State()


class CommentStates(StatesGroup):
    """Typing a reply to a comment, or the hide words."""

    reply = State()
    words = State()
    negative = State()  # the negative words (bursts)


class AudienceStates(StatesGroup):
    """Waiting for a customer file (emails or phone numbers) for a new audience."""

    file = State()


class SupportStates(StatesGroup):
    """Support ticket flow: the user's question, an operator's answer."""

    question = State()
    operator_reply = State()


# States in which only a button press moves forward (typed text gets a hint instead).
BUTTON_STATES = (
    SignUpStates.language,
    SignUpStates.age,
    SignUpStates.terms,
    SignUpStates.marketing,
)


class StatsStates(StatesGroup):
    """Stats input: a custom date range."""

    custom_range = State()


class RuleStates(StatesGroup):
    """Typed input while building a rule or deciding on an approval."""

    text = State()  # the one-line form
    name = State()
    values = State()  # name filter values or ids
    times = State()  # times of day
    frequency = State()  # "N per M h"
    cond_value = State()  # builder: a condition's threshold
    action_value = State()  # builder: a budget or bid change
    edit_value = State()  # approval: the owner's own amount


class ManageStates(StatesGroup):
    """Typed input while changing an object by hand."""

    amount = State()  # a budget or bid to set


class LaunchStates(StatesGroup):
    """Typed input while preparing a launch."""

    when = State()  # the scheduled start, in the user's time zone


class TemplateStates(StatesGroup):
    """Typed input while building a template or importing one."""

    value = State()  # a typed field of the draft
    import_file = State()  # the exported JSON file, sent as a document


class CreativeStates(StatesGroup):
    """The creative library: files and links sent in it are added; typed input."""

    library = State()  # videos, images and links sent now go into the library
    rename = State()  # a creative's new name


class IdentityStates(StatesGroup):
    """Creating a custom identity: its display name, then its avatar."""

    name = State()
    avatar = State()


class TrackerStates(StatesGroup):
    """Typed input in Integrations: the Add tracker wizard, edits, mapping, rates."""

    url = State()  # the tracker's base URL
    key = State()  # the API key (the message is deleted at once)
    time_zone = State()  # the tracker's zone, typed
    currency = State()  # the tracker's currency, typed
    edit = State()  # a tracker field being changed (which one is in the state data)
    search = State()  # text to find a tracker campaign by
    pattern = State()  # a TikTok campaign name pattern
    rate = State()  # "EUR USD 1.08"


class DeleteStates(StatesGroup):
    """/delete_account: waiting for the typed confirmation word."""

    confirm = State()


class AdminStates(StatesGroup):
    """An operator's typed input in the console."""

    find = State()  # a Telegram id, @username or email to look up
    grant_reason = State()  # why a plan is granted
    broadcast_text = State()  # the text of a new broadcast
