"""Exchange with case-management systems: importing cases and proposals, and giving assessments
back (the summary and the document)."""
