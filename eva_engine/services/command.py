"""The base of every service command: the input of one change, checked before anything runs.

Unknown fields are refused (a misspelt field never passes silently) and text is stripped of
surrounding white space; each field's limits are declared with the types of ``fields``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
