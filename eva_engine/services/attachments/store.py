"""The attachments' files on the local file system, content-addressed: a file is kept once
under ``<dir>/<first two hex of its SHA-256>/<SHA-256>``, whatever its name and however many
attachments name it. Its type is read from its content (the magic bytes of the few types
accepted), never only from its name, and a configured scanner may refuse it first."""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import tempfile
import zipfile
from io import BytesIO
from pathlib import Path

from eva_engine.errors import N_, InvalidInput, Problem, Text

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
TEXT = "text/plain"
CSV = "text/csv"

SCAN_TIMEOUT = 120  # seconds a scanner may take for one file


MAGIC = ((b"%PDF-", PDF), (b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG))


def sniff(content: bytes, file_name: str) -> str | None:
    """The media type the content is, of the types eva knows, or None."""
    for prefix, media_type in MAGIC:
        if content.startswith(prefix):
            return media_type
    if content.startswith(b"PK\x03\x04"):
        return _zipped(content)
    if b"\x00" in content:
        return None
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return CSV if file_name.lower().endswith(".csv") else TEXT


def _zipped(content: bytes) -> str | None:
    try:
        with zipfile.ZipFile(BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                return declared if declared in (ODT, ODS) else None
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    return None


def blob_path(directory: Path, sha256: str) -> Path:
    return directory / sha256[:2] / sha256


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def scan(command: str | None, content: bytes) -> None:
    """Run the configured scanner on the file (its path appended to the command); a non-zero
    exit, a scanner that cannot run or one that takes too long refuses the file."""
    if not command:
        return
    refused = Text(
        N_("The file was refused by the virus scan: check it, or ask your administrator.")
    )
    with tempfile.TemporaryDirectory(prefix="eva-scan-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(content)
        try:
            done = subprocess.run(  # noqa: S603 - the administrator's configured command
                [*shlex.split(command), str(path)],
                capture_output=True,
                timeout=SCAN_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InvalidInput(refused, [Problem.of("file", refused)]) from exc
    if done.returncode != 0:
        raise InvalidInput(refused, [Problem.of("file", refused)])


def put(directory: Path, content: bytes) -> str:
    """Keep the file (once) and return its SHA-256. Written to a temporary file and renamed,
    so a reader never sees half a file."""
    sha = digest(content)
    target = blob_path(directory, sha)
    if target.exists():
        return sha
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return sha


def get(directory: Path, sha256: str) -> bytes | None:
    """The file's content, or None if it is missing or no longer matches its hash."""
    try:
        content = blob_path(directory, sha256).read_bytes()
    except OSError:
        return None
    return content if digest(content) == sha256 else None
