"""Support tickets repository."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import SupportMessage, SupportTicket


class SupportRepo:
    """Reads and writes support tickets and their messages."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def open_ticket(self, user_id: int, text: str) -> SupportTicket:
        """Stage a ticket with its first message and give it an id."""
        ticket = SupportTicket(user_id=user_id, status="open")
        ticket.messages.append(SupportMessage(author_id=user_id, from_operator=False, text=text))
        self._s.add(ticket)
        await self._s.flush()
        return ticket

    async def get(self, ticket_id: int) -> SupportTicket | None:
        """A ticket with its messages."""
        return await self._s.scalar(
            select(SupportTicket)
            .where(SupportTicket.id == ticket_id)
            .options(selectinload(SupportTicket.messages))
        )

    async def add_message(
        self, ticket: SupportTicket, author_id: int, text: str, *, from_operator: bool
    ) -> SupportMessage:
        """Stage a message on a ticket."""
        msg = SupportMessage(
            ticket_id=ticket.id, author_id=author_id, from_operator=from_operator, text=text
        )
        self._s.add(msg)
        await self._s.flush()
        return msg

    async def for_user(self, user_id: int) -> list[SupportTicket]:
        """A user's tickets, newest first."""
        rows = await self._s.scalars(
            select(SupportTicket)
            .where(SupportTicket.user_id == user_id)
            .order_by(SupportTicket.id.desc())
            .options(selectinload(SupportTicket.messages))
        )
        return list(rows)
