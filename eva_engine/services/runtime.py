"""The assembled engine: a database and the definitions folder. Built by an entrypoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from eva_engine.config import Settings
from eva_engine.db.audit import Actor
from eva_engine.db.unit_of_work import (
    RETRY_STATS,
    Database,
    RetryStats,
    UnitOfWork,
    retry_active,
    retrying,
)
from eva_engine.workflow.loader import Catalogue, load_catalogue

T = TypeVar("T")

__all__ = ["RETRY_STATS", "Caller", "Eva", "RetryStats", "retry_active", "run_retrying"]


def run_retrying(fn: Callable[[], T]) -> T:
    """Run an entry point's work (one request, one command) again when the database reports
    contention (a deadlock, a serialisation failure, a lock not granted), a few times, then
    report it as a ``Contended`` conflict. See ``eva_engine.db.unit_of_work.retrying``."""
    return retrying(fn)


@dataclass(frozen=True)
class Caller:
    """Who calls a service: a username (None for the shell operator) and through what client.

    ``confirmed`` says the caller proved again who they are for this very request (the web UI
    asked the password, the API token holds the ``sign`` scope, or it is the command line on the
    server): steps that need re-authentication, such as the presenter's sign-off, require it."""

    username: str | None = None
    client: str = "cli"
    confirmed: bool = False


class Eva:
    def __init__(
        self,
        database: Database,
        workflows_dir: Path,
        attachments_dir: Path | None = None,
        attachment_scan: str | None = None,
    ) -> None:
        self.database = database
        self.workflows_dir = workflows_dir
        # Where attachments' files are kept (content-addressed) and the command that scans
        # each before it is accepted (``services.attachments.store``).
        self.attachments_dir = attachments_dir or Path("instance") / "attachments"
        self.attachment_scan = attachment_scan

    @classmethod
    def from_settings(cls, settings: Settings) -> Eva:
        return cls(
            Database.connect(settings.database_url),
            settings.workflows_dir,
            settings.attachments_path,
            settings.attachment_scan_command,
        )

    @cached_property
    def catalogue(self) -> Catalogue:
        """The definition files, validated (only read when a command needs them)."""
        return load_catalogue(self.workflows_dir)

    def reload_definitions(self) -> Catalogue:
        """Read the definition files again (an administrator publishes a new version)."""
        self.__dict__.pop("catalogue", None)
        return self.catalogue

    def uow(self, actor: Actor | None = None) -> UnitOfWork:
        """A unit of work; inside an active one (``transaction()``) it joins that one."""
        return self.database.unit_of_work(actor)

    def transaction(self) -> UnitOfWork:
        """The one transaction of an entry point around several service calls: every unit of
        work opened inside it joins it, and nothing is committed until its ``commit()``
        (leaving the block without committing rolls everything back)."""
        return self.database.unit_of_work()

    def run(self, fn: Callable[[], T]) -> T:
        """Run an entry point's work, again on contention (see ``run_retrying``)."""
        return run_retrying(fn)

    def reading(self) -> UnitOfWork:
        """A unit of work that only reads (it cannot commit); on SQLite it does not take the
        write lock, so readers never hold up a writer."""
        return self.database.unit_of_work(read_only=True)
