"""Bulk launches: a template × ad accounts × creatives, planned, checked, approved, run."""
