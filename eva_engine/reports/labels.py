"""How the report's vocabulary reads: meeting outcomes, screening depths, impact directions
and affected groups (the same messages the web UI translates)."""

from __future__ import annotations

from eva_engine.errors import N_

OUTCOMES = {
    "approved": N_("approved as proposed"),
    "amended": N_("approved as amended"),
    "tabled": N_("tabled"),
    "returned": N_("returned for new preparation"),
    "rejected": N_("rejected"),
    "removed": N_("removed from the agenda"),
}

SCREENING = {
    "exempt": N_("no assessment needed"),
    "light": N_("light assessment"),
    "full": N_("full assessment"),
}

DIRECTIONS = {
    "positive": N_("positive"),
    "negative": N_("negative"),
    "none": N_("no impact"),
    "unknown": N_("unknown"),
}

GROUPS = {
    "children": N_("children"),
    "young_people": N_("young people"),
    "families": N_("families"),
    "working_age": N_("working-age people"),
    "older_people": N_("older people"),
    "disabled_people": N_("disabled people"),
    "low_income": N_("low-income people"),
    "language_culture_groups": N_("language or culture groups"),
    "area": N_("an area"),
    "staff": N_("staff"),
    "businesses": N_("businesses"),
    "all_residents": N_("all residents"),
}

# How a follow-up's impact went (the follow-up pages' words), or that it was waived.
RESULTS = {
    "as_predicted": N_("As predicted"),
    "better": N_("Better than predicted"),
    "worse": N_("Worse than predicted"),
    "cannot_tell_yet": N_("Cannot be told yet"),
    "waived": N_("Waived"),
}

SOURCES = {
    "sotkanet": N_("Sotkanet (THL)"),
    "teaviisari": N_("TEAviisari (THL)"),
    "own_data": N_("The organisation's own data"),
    "other": N_("Other source"),
}
