"""Checklist templates (impact areas, topics, questions) and assessment completeness."""
