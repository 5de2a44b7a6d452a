"""Workflow definitions as data, their validation, and the cached state machines."""
