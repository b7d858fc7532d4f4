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
