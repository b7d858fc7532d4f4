"""Support use-cases: a user opens a ticket, an operator answers it."""

from __future__ import annotations

from dataclasses import dataclass

from storage.uow import UnitOfWorkFactory

MAX_TEXT = 3000  # leaves room for the header when the text is forwarded (4096-character limit)


class TicketNotFound(LookupError):
    """No ticket with that id."""


@dataclass(frozen=True)
class TicketRef:
    """A ticket's id and owner."""

    ticket_id: int
    user_id: int
    user_language: str


async def open_ticket(uow: UnitOfWorkFactory, user_id: int, text: str) -> int:
    """Store the user's message as a new ticket; returns its number."""
    async with uow() as u:
        ticket = await u.support.open_ticket(user_id, text[:MAX_TEXT])
        u.audit.record(user_id, "support.opened", "ticket", ticket.id)
        await u.commit()
        return ticket.id


async def reply_to_ticket(
    uow: UnitOfWorkFactory, ticket_id: int, operator_id: int, text: str,
    user_id: int | None = None,
) -> TicketRef:
    """Store an operator's answer and mark the ticket answered; returns whom to deliver it to.
    `user_id`: the owner the operator was shown; a ticket of anyone else is not found."""
    async with uow() as u:
        ticket = await u.support.get(ticket_id)
        # An erased account's tickets are deleted, and SQLite reuses the highest id: the number
        # on the operator's button may now be another user's ticket.
        if ticket is None or (user_id is not None and ticket.user_id != user_id):
            raise TicketNotFound(ticket_id)
        await u.support.add_message(ticket, operator_id, text[:MAX_TEXT], from_operator=True)
        ticket.status = "answered"
        user = await u.users.get(ticket.user_id)
        u.audit.record(operator_id, "support.answered", "ticket", ticket.id)
        await u.commit()
        return TicketRef(ticket.id, ticket.user_id, user.language if user else "en")
