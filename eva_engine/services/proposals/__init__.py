"""Decision proposals: creating and scheduling them (commands), reading them and their lists
(queries)."""
