"""Support ticket texts."""

from __future__ import annotations

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import TicketCb
from bot.keyboards import InlineKeyboardBuilder
from bot.views import Screen


def ask_question() -> str:
    """Invite the user to describe the problem."""
    return _(
        "Describe your question or problem in one message and I will pass it to our team. "
        "Send /cancel to stop."
    )


def text_only() -> str:
    """A ticket must be text."""
    return _("Please describe it in a text message (or send /cancel).")


def too_long(length: int, limit: int) -> str:
    """A message longer than a ticket (or an answer) holds: nothing was stored or sent."""
    return _(
        "That message is {length} characters long; one message to support holds up to "
        "{limit}. Please shorten it, or send the main part now and the rest after the answer. "
        "Nothing was sent yet."
    ).format(length=length, limit=limit)


def ticket_opened(ticket_id: int) -> str:
    """Confirmation to the user."""
    return _("📨 Ticket #{id} is open. Our team will answer right here.").format(id=ticket_id)


def for_operator(
    ticket_id: int, name: str, user_id: int, username: str | None, text: str
) -> Screen:
    """A new ticket as operators see it, with a Reply button."""
    who = html.quote(name) + (f" (@{html.quote(username)})" if username else "")
    body = _("🆘 Ticket #{id} from {who}, id {uid}:").format(id=ticket_id, who=who, uid=user_id)
    kb = InlineKeyboardBuilder()
    kb.button(text=_("↩️ Reply"), callback_data=TicketCb(ticket_id=ticket_id, user_id=user_id))
    return f"{body}\n\n{html.quote(text)}", kb.as_markup()


def operator_prompt(ticket_id: int) -> str:
    """Ask the operator for the answer."""
    return _("Write your answer to ticket #{id} (or /cancel).").format(id=ticket_id)


def answer_for_user(ticket_id: int, text: str) -> str:
    """The operator's answer as the user sees it."""
    return (
        _("💬 Answer from TTPulse support (ticket #{id}):").format(id=ticket_id)
        + f"\n\n{html.quote(text)}"
    )


def delivered(ticket_id: int) -> str:
    """Confirmation to the operator."""
    return _("✅ Your answer to ticket #{id} was sent.").format(id=ticket_id)


def not_delivered(ticket_id: int) -> str:
    """The user could not be reached; the answer is kept."""
    return _(
        "The answer to ticket #{id} is stored, but it could not be delivered: the user "
        "has blocked the bot or deleted the chat."
    ).format(id=ticket_id)


def operators_only() -> str:
    """A non-operator pressed an operator button."""
    return _("Only TTPulse operators can answer tickets.")


def no_ticket(ticket_id: int) -> str:
    """The ticket id does not exist."""
    return _("Ticket #{id} does not exist.").format(id=ticket_id)
