"""Delivery of the outbox: emails over SMTP in each recipient's language (Jinja templates and
the Flask-Babel catalogs) and HMAC-signed webhooks, at least once, with retries and dead letters.
The engine writes and settles the outbox rows
(``eva_engine.services.notifications.outbox``); this package renders and
sends. Commands: ``web.notify.cli``."""
