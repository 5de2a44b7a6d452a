"""The ``eva`` command line, every command of it but the web layer's ``serve``: options →
service command → service → printed result, each command in one unit of work
(``output.Unit``). The console script is ``web.cli:main``, which adds ``serve`` to this
group (the engine never imports the web layer)."""

from eva_engine.cli import attachments as attachments
from eva_engine.cli import audit as audit
from eva_engine.cli import comments as comments
from eva_engine.cli import export as export
from eva_engine.cli import follow_up as follow_up
from eva_engine.cli import importing as importing
from eva_engine.cli import notify as notify
from eva_engine.cli import report as report
from eva_engine.cli import setup as setup
from eva_engine.cli import sso as sso
from eva_engine.cli import texts as texts
from eva_engine.cli import tokens as tokens
from eva_engine.cli.commands import cli

__all__ = ["cli"]
