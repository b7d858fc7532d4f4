"""Integrations screens (affiliate trackers), one module per screen: the list (`overview`),
Add tracker (`wizard`), a tracker's card, edit and disconnect (`tracker`), mapping (`mapping`),
the push log (`push_log`) and currency rates (`fx`); shared pieces in `common`."""
