"""History and audit: a proposal's history, verifying the audit chain, and checkpoints of it kept
outside the database."""
