"""People and access: organisations and their bodies, accounts and sessions, role grants, API
tokens, what an administrator manages."""
