"""Affiliate trackers (Keitaro, Binom 1.x, Binom 2): clients, mapping, cost push, revenue pull."""
