"""Engine, sessions, the unit of work, repositories and the audit writer."""
