"""The ``eva`` command line. Commands parse options into a service command and print the
result; the web layer adds ``serve`` when it assembles the program (see ``web.cli``)."""

from eva_engine.cli import audit as audit
from eva_engine.cli import follow_up as follow_up
from eva_engine.cli import importing as importing
from eva_engine.cli import tokens as tokens
from eva_engine.cli.commands import cli

__all__ = ["cli"]
