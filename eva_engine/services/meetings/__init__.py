"""Meetings and agendas: is every item on an agenda ready for the meeting."""
