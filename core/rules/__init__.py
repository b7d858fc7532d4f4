"""Automation rules: the model, the one-line text form, and (next) the engine."""
