"""TikTok Marketing API v1.3 emulator: API, consent page, delivery generator, fixtures, knobs.

Start it with ``python -m sandbox.tiktok --host H --port P --fixture demo|scale`` (prints
``app_id=``, ``secret=``, ``access_token=``, ``tiktok_api_url=``, ``tiktok_auth_url=``) or in
process with ``await sandbox.tiktok.server.start_emulator(...)``.

* API: ``/open_api/v1.3/<path>/`` (routes in api_account, entity_reads, api_entities,
  api_ads, reports and the optional features' modules).
* Consent page: ``/portal/auth?app_id=…&state=…&redirect_uri=…[&user=<login>]`` (portal).
* Control API (JSON): ``GET|POST /_emulator/config``, ``POST /_emulator/revoke``,
  ``POST /_emulator/unshare`` (take an ad account away from a login),
  ``GET|POST /_emulator/clock``, ``GET /_emulator/stats``, ``POST /_emulator/reset_stats``,
  ``POST /_emulator/token`` (mint a token for a login), ``GET /_emulator/world`` (summary),
  ``POST /_emulator/warm`` (compute the delivery model ahead; answers unchanged),
  ``POST /_emulator/pixel_silence`` (a pixel's events stop, or start again).

Module map: config (knobs and uncertain choices), clock, model (world), fixtures, delivery
(facts), params (request decoding), core (emulator, routes), portal, server (aiohttp app).
"""
