"""Reports for a period and scope: what was screened and decided, whether assessments were
complete when the meetings started, impacts, affected groups and each body's pace (queries
only; docs/reports.md)."""
