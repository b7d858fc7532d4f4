"""Affiliate tracker emulators: Keitaro Admin API v1, Binom 1.x and Binom 2 (spec: trackers).

Start one with ``python -m sandbox.trackers --kind keitaro|binom1|binom2`` (prints
``tracker_url=`` and ``api_key=``, and the TikTok emulator's credentials when it starts its own)
or in process with ``await sandbox.trackers.server.start_tracker(kind, tiktok=...)``.

Module map: model (clicks from TikTok, conversions, cost writes), reports (grouping engine),
fixtures (demo/scale/empty worlds), keitaro / binom1 / binom2 (the APIs), server (knobs, auth,
dispatch, start_tracker). Control: ``GET|POST /_tracker/knobs``.
"""
