"""Notifications: the notices a change writes to the outbox, and the outbox's delivery
bookkeeping."""
