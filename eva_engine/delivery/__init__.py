"""Delivery of the outbox: emails over SMTP in each recipient's language (rendered by
``eva_engine.rendering.email``) and HMAC-signed webhooks (``signing``), at least once, with
leases, retries and dead letters (``worker``). The services write and settle the outbox rows
(``eva_engine.services.notifications.outbox``); this package renders and sends. Commands:
``eva_engine.cli.notify``."""
