"""The installation: its database schema, backups and restores."""
