"""Screening and assessment: the screening decision, the assessment document (alternatives,
impacts, mitigations, follow-up indicators) and its editing."""
