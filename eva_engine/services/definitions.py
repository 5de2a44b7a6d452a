"""Publishing workflow versions and reading the version a proposal runs on."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from pydantic import BaseModel

from eva_engine.db.repositories import Repositories
from eva_engine.errors import N_, Conflict, DefinitionError, NotFound, Problem, Text
from eva_engine.localized import LocalizedText
from eva_engine.models import PublishedDefinition
from eva_engine.services.access import actor_for, require_admin
from eva_engine.services.runtime import Caller, Eva
from eva_engine.workflow.definition import WorkflowBundle
from eva_engine.workflow.loader import Catalogue, bundle_from_json, canonical_json

_BUNDLES: dict[str, WorkflowBundle] = {}
_LOCK = threading.Lock()


def bundle_content(bundle: WorkflowBundle) -> tuple[str, str]:
    content = canonical_json(bundle.model_dump(mode="json"))
    return content, hashlib.sha256(content.encode()).hexdigest()


def stored_bundle(repos: Repositories, name: str, version: int) -> tuple[WorkflowBundle, str]:
    """The published bundle, parsed once per content hash and checked against that hash."""
    record = repos.definition(name, version)
    if record is None:
        raise NotFound(
            Text(
                N_(
                    "The workflow %(workflow)s version %(version)s has not been published: "
                    "an administrator publishes it first."
                ),
                {"workflow": name, "version": version},
            )
        )
    bundle = _BUNDLES.get(record.content_hash)
    if bundle is None:
        # The stored text itself is checked: a bundle of an older format is read with that
        # format's defaults (``bundle_from_json``), which its hash does not include.
        if hashlib.sha256(record.content.encode()).hexdigest() != record.content_hash:
            altered = Text(
                N_(
                    "The published workflow %(workflow)s version %(version)s has been altered in "
                    "the database (row %(row)s): restore it from a backup."
                ),
                {"workflow": name, "version": version, "row": record.id},
            )
            raise DefinitionError(altered, [Problem.of("published_definitions", altered)])
        with _LOCK:
            bundle = _BUNDLES.setdefault(record.content_hash, bundle_from_json(record.content))
    return bundle, record.content_hash


def pinned_bundle(
    repos: Repositories, name: str, version: int, content_hash: str
) -> tuple[WorkflowBundle, str]:
    """The bundle a proposal is pinned to (its workflow name, version and hash): once a bundle
    of that hash has been read from the database and checked against it, this process keeps
    it, so a proposal's steps read no definition at all; otherwise ``stored_bundle``."""
    bundle = _BUNDLES.get(content_hash)
    if bundle is not None and (bundle.workflow.name, bundle.workflow.version) == (name, version):
        return bundle, content_hash
    return stored_bundle(repos, name, version)


def task_titles(catalogue: Catalogue) -> dict[str, LocalizedText]:
    """The title of every task kind the workflows of the catalogue declare (``task_kinds``);
    of a kind in several workflows or versions, the newest version's title."""
    titles: dict[str, LocalizedText] = {}
    for _, bundle in sorted(catalogue.bundles.items()):
        titles.update({k.id: k.title for k in bundle.workflow.task_kinds})
    return titles


class DefinitionConflict(Conflict):
    """Definitions already published with other content: each file is named."""

    def __init__(self, message: Text, problems: list[Problem]) -> None:
        super().__init__(message)
        self.problems = list(problems)

    def details(self) -> list[str]:
        return [str(p) for p in self.problems]

    def __str__(self) -> str:
        return "\n".join([self.message, *(f"  - {p}" for p in self.problems)])


class PublishedVersion(BaseModel):
    name: str
    version: int
    content_hash: str
    source_file: str
    published_at: str
    proposals: int


@dataclass(frozen=True)
class PublishReport:
    published: list[str]
    unchanged: list[str]


def publish(eva: Eva, caller: Caller) -> PublishReport:
    """Publish every workflow version in the definitions folder that is not yet published.
    A published version whose file now says something else is refused: raise the version."""
    catalogue = eva.catalogue
    published: list[str] = []
    unchanged: list[str] = []
    with eva.uow() as uow:
        actor, user = actor_for(uow.repos, caller)
        uow.audit.actor = actor
        require_admin(uow.repos, user, "publish workflows")
        problems = []
        for (name, version), bundle in sorted(catalogue.bundles.items()):
            content, digest = bundle_content(bundle)
            existing = uow.repos.definition(name, version)
            label = f"{name} v{version}"
            if existing is not None:
                if existing.content_hash != digest:
                    problems.append(
                        Problem.of(
                            catalogue.sources[(name, version)],
                            Text(
                                N_(
                                    "%(label)s is already published with other content: raise "
                                    "its version to publish a change."
                                ),
                                {"label": label},
                            ),
                        )
                    )
                else:
                    unchanged.append(label)
                continue
            uow.repos.add(
                PublishedDefinition(
                    kind="workflow",
                    name=name,
                    version=version,
                    content_hash=digest,
                    content=content,
                    source_file=catalogue.sources[(name, version)],
                )
            )
            published.append(label)
        if problems:
            raise DefinitionConflict(
                Text(N_("Nothing was published: correct the workflow files named.")), problems
            )
        uow.commit()
    return PublishReport(published, unchanged)


def published_versions(eva: Eva, caller: Caller | None = None) -> list[PublishedVersion]:
    with eva.reading() as uow:
        if caller is not None:
            require_admin(uow.repos, actor_for(uow.repos, caller)[1], "manage workflows")
        counts = uow.repos.proposal_counts_by_version()
        return [
            PublishedVersion(
                name=d.name,
                version=d.version,
                content_hash=d.content_hash,
                source_file=d.source_file,
                published_at=d.published_at.isoformat(timespec="seconds"),
                proposals=counts.get((d.name, d.version), 0),
            )
            for d in uow.repos.definitions()
        ]
