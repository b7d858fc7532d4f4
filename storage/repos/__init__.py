"""Repositories: the only place that builds queries. They never commit."""
