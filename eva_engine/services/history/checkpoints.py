"""Checkpoints of the audit chains: where each chain's head was (sequence and hash) at a
moment, in a small JSON file authenticated with HMAC-SHA256 under a key the database never
holds (``EVA_AUDIT_KEY``). Kept outside the database (sent to the auditors, see docs/audit.md),
a checkpoint is what a database owner cannot rewrite: a chain cut back below it, or rewritten
up to it with eva's own hash function, no longer extends it. A checkpoint holds every chain,
or (``--org``) one organisation's."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.engine import make_url

from eva_engine.db.audit import Anchor, ChainState, VerifyResult, canonical, failed
from eva_engine.errors import N_, InvalidInput, Problem, Text
from eva_engine.services.history import trail
from eva_engine.services.runtime import Caller, Eva

FORMAT = "eva-audit-checkpoint/2"
SINGLE_CHAIN_FORMAT = "eva-audit-checkpoint/1"  # before one chain per organisation (0007)
KEY_VARIABLE = "EVA_AUDIT_KEY"
MIN_KEY_BYTES = 32  # 256 bits, the size of the HMAC-SHA256 output
MIN_DISTINCT_BYTES = 16  # 32 random bytes have ~30 distinct values; "aaaa…" has one
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
_KEY_ID_LABEL = b"eva audit checkpoint key id"


def _key_problem(why: Text) -> InvalidInput:
    unusable = Text(
        N_(
            "The checkpoint key %(variable)s cannot be used; make one with: "
            "python3 -c 'import secrets; print(secrets.token_hex(32))'"
        ),
        {"variable": KEY_VARIABLE},
    )
    return InvalidInput(unusable, [Problem.of(KEY_VARIABLE, why)])


def audit_key(raw: str | None) -> bytes:
    """The checkpoint key from ``EVA_AUDIT_KEY``: at least 32 random bytes, written as hex (64
    or more hex digits; tried first) or as base64 (standard or URL-safe, padding optional).
    A missing, short or visibly non-random key is refused: a checkpoint under a guessable key
    proves nothing."""
    text = (raw or "").strip()
    if not text:
        raise _key_problem(
            Text(N_("It is not set, and a checkpoint needs a key kept outside the database."))
        )
    if _HEX.fullmatch(text):
        key = bytes.fromhex(text)
    else:
        normalised = text.replace("-", "+").replace("_", "/")
        try:
            key = base64.b64decode(normalised + "=" * (-len(normalised) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise _key_problem(Text(N_("It is neither hex nor base64."))) from None
    if len(key) < MIN_KEY_BYTES:
        raise _key_problem(
            Text(
                N_("It holds %(count)s bytes, fewer than %(min)s."),
                {"count": len(key), "min": MIN_KEY_BYTES},
            )
        )
    if len(set(key)) < MIN_DISTINCT_BYTES:
        raise _key_problem(Text(N_("Its bytes repeat too much to be random.")))
    return key


def key_id(key: bytes) -> str:
    """Names the key without revealing it (an HMAC of a fixed label), so that a checkpoint made
    under another key is told apart from an altered one."""
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def _mac(key: bytes, content: dict[str, Any]) -> str:
    return hmac.new(key, canonical(content).encode(), hashlib.sha256).hexdigest()


class ChainPoint(BaseModel):
    """Where one chain's head was: the hash of its first event (which chain this is), its last
    event and that event's hash; ``name`` is for people."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    chain_start: str | None
    seq: int
    hash: str


class Checkpoint(BaseModel):
    """The document: the database it was read from (for people), where each chain's head was
    (by chain: 0 the installation's, else the organisation's id), when, under which key, and
    the HMAC-SHA256 of all that (its canonical JSON without ``mac``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str
    database: str
    chains: dict[str, ChainPoint]
    created_at: datetime
    key_id: str
    mac: str

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def database_label(url: str) -> str:
    """The database, for people, without user or password: ``postgresql://host:5432/eva``,
    ``sqlite:eva.sqlite3``."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return f"sqlite:{Path(parsed.database or ':memory:').name}"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{backend}://{parsed.host or 'localhost'}{port}/{parsed.database or ''}"


def _point(chain: ChainState) -> dict[str, Any]:
    return {
        "name": chain.name,
        "chain_start": chain.first_hash,
        "seq": chain.verified,
        "hash": chain.last_hash,
    }


def sign(key: bytes, *, database: str, chain: VerifyResult, at: datetime) -> Checkpoint:
    """A checkpoint of the heads of verified chains."""
    content: dict[str, Any] = {
        "format": FORMAT,
        "database": database,
        "chains": {str(c.chain_id): _point(c) for c in chain.chains},
        "created_at": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "key_id": key_id(key),
    }
    return Checkpoint.model_validate(content | {"mac": _mac(key, content)})


@dataclass(frozen=True)
class CheckpointMade:
    """A checkpoint, or (``checkpoint`` None) why none was made: the chain did not verify."""

    chain: VerifyResult
    checkpoint: Checkpoint | None


def make_checkpoint(
    eva: Eva, raw_key: str | None, database: str, *, chain_id: int | None = None
) -> CheckpointMade:
    """Verify the chains (or one) in one snapshot and, only if they verify, sign their heads:
    a checkpoint of a chain already tampered with would anchor the forgery."""
    key = audit_key(raw_key)
    chain = trail.verify(eva, chain_id=chain_id)
    if not chain.ok:
        return CheckpointMade(chain, None)
    return CheckpointMade(chain, sign(key, database=database, chain=chain, at=datetime.now(UTC)))


def organisation_checkpoint(
    eva: Eva, caller: Caller, raw_key: str | None, database: str
) -> CheckpointMade:
    """``make_checkpoint`` of the chain of the caller's organisation, for its auditors and
    administrators (the API's ``POST /audit/checkpoints``); the operator's ``eva audit
    checkpoint`` signs every chain."""
    chain_id = trail.auditor_chain(eva, caller, "making an audit checkpoint")
    return make_checkpoint(eva, raw_key, database, chain_id=chain_id)


def save(checkpoint: Checkpoint, path: Path) -> None:
    """Write the file, never over an existing one (an older checkpoint is an anchor too)."""
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(checkpoint.to_json())
            out.flush()
            os.fsync(out.fileno())
    except FileExistsError:
        exists = Text(
            N_(
                "%(file)s exists already, and a checkpoint is never written over another one: "
                "give a new file name, e.g. with the date."
            ),
            {"file": str(path)},
        )
        raise InvalidInput(exists, [Problem.of("--out", exists)]) from None
    except OSError as exc:
        cannot = Text(
            N_("The file %(file)s cannot be written (%(error)s): choose another place."),
            {"file": str(path), "error": exc.strerror or ""},
        )
        raise InvalidInput(cannot, [Problem.of("--out", cannot)]) from None


@dataclass(frozen=True)
class Loaded:
    """A checkpoint file read back: its anchors (one per chain) if authentic, else why not."""

    path: Path
    anchors: list[Anchor] | None
    problem: str | None = None  # in English
    text: Text | None = None  # the problem, translatable
    code: str | None = None  # which problem, for programs (the API's ``code``)


def _not_a_checkpoint(path: Path) -> InvalidInput:
    wrong = Text(
        N_("%(file)s is not an eva audit checkpoint (a JSON document of format %(format)s)."),
        {"file": str(path), "format": FORMAT},
    )
    return InvalidInput(wrong, [Problem.of("--checkpoint", wrong)])


def load(path: Path, key: bytes) -> Loaded:
    """Read a checkpoint file and check its HMAC. A file that is not a checkpoint at all is
    invalid input; one whose content or key does not match its HMAC is reported (``problem``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        cannot = Text(
            N_("The file %(file)s cannot be read (%(error)s): check its name and rights."),
            {"file": str(path), "error": exc.strerror or ""},
        )
        raise InvalidInput(cannot, [Problem.of("--checkpoint", cannot)]) from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if isinstance(data, dict) and data.get("format") == SINGLE_CHAIN_FORMAT:
        old = Text(
            N_(
                "%(file)s is a checkpoint of the single audit chain eva kept before one chain per "
                "organisation (format %(format)s): compare its seq and hash with the old head "
                "recorded in the installation chain's audit.chain_migrated event "
                "(docs/audit.md), and make a new checkpoint."
            ),
            {"file": str(path), "format": SINGLE_CHAIN_FORMAT},
        )
        raise InvalidInput(old, [Problem.of("--checkpoint", old)])
    if not isinstance(data, dict) or data.get("format") != FORMAT or "mac" not in data:
        raise _not_a_checkpoint(path)
    content = {k: v for k, v in data.items() if k != "mac"}
    if content.get("key_id") != key_id(key):
        other_key = Text(
            N_(
                "the checkpoint %(file)s was not made with this %(variable)s: it cannot be "
                "checked (another key), or it is forged"
            ),
            {"file": path.name, "variable": KEY_VARIABLE},
        )
        return Loaded(path, None, str(other_key), other_key, "checkpoint_other_key")
    if not isinstance(data["mac"], str) or not hmac.compare_digest(data["mac"], _mac(key, content)):
        forged = Text(
            N_(
                "the checkpoint %(file)s is not authentic: its content does not match its HMAC "
                "(the file was altered or forged)"
            ),
            {"file": path.name},
        )
        return Loaded(path, None, str(forged), forged, "checkpoint_forged")
    try:
        checkpoint = Checkpoint.model_validate(data)
    except ValidationError:  # authentic, yet not what eva writes: a bug, or an old format
        raise _not_a_checkpoint(path) from None
    when = f"{checkpoint.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    anchors = [
        Anchor(
            chain_id=int(chain),
            seq=point.seq,
            hash=point.hash,
            name=f"{path.name}, {when}",
            first_hash=point.chain_start,
        )
        for chain, point in checkpoint.chains.items()
        if chain.isdigit()
    ]
    return Loaded(path, anchors)


def verify(
    eva: Eva, raw_key: str | None, paths: Sequence[Path], *, chain_id: int | None = None
) -> VerifyResult:
    """``eva audit verify [--org CODE] --checkpoint FILE``: each file is authentic under the
    key, and the chains (or the one), walked in one snapshot, verify and still pass through
    each checkpoint."""
    if not paths:
        return trail.verify(eva, chain_id=chain_id)
    key = audit_key(raw_key)
    anchors: list[Anchor] = []
    for path in paths:
        loaded = load(path, key)
        if loaded.anchors is None:
            if loaded.text is None:  # pragma: no cover - every refusal says why
                return VerifyResult(0, None, loaded.problem)
            return failed(0, None, loaded.text, None, code=loaded.code)
        anchors.extend(loaded.anchors)
    return trail.verify(eva, anchors, chain_id=chain_id)
