"""Workflow steps: the workflow versions a proposal runs on, firing a step, the tasks (assignments)
steps open and close, and each person's work."""
