"""The web dashboard (issue 16): the Telegram Mini App and the same pages in any browser.

A room beside bot/: aiohttp routes and Jinja2 templates mounted under /app/ on the service's
web server. Imports point web → core → storage, like bot/; pages call the same core use-cases
as the chat, so no business rule is written twice.
"""
