"""Every message the engine can raise has a message id that all three catalogs translate: no
error is made of English text alone, and every message id in the source is in the catalogs."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from eva_engine import errors

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "eva_engine"
TRANSLATIONS = ENGINE / "translations"
# Where the messages people read are raised: the services, the workflow engine, the database's
# conflicts and the command line.
RAISING = ["services", "workflow", "db", "cli", "checklists"]


def _error_names() -> set[str]:
    """The engine's error classes, and those of the services that derive from them."""
    names = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.EvaError)
    }
    for path in ENGINE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id in names for b in node.bases
            ):
                names.add(node.name)
    return names - {"ConfigurationError"}  # the server's settings: the operator's, in English


def _is_text(node: ast.expr) -> bool:
    """A string, an f-string or a sum of them: English text, not a message id."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "join"
    return False


def _english_only(path: Path, names: set[str]) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module):
            continue
        strings = {
            target.id
            for node in ast.walk(function)
            if isinstance(node, ast.Assign) and _is_text(node.value)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(function):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            keywords = {k.arg for k in node.keywords}
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if node.func.id in names and node.args and "text" not in keywords:
                first = node.args[0]
                if _is_text(first) or (isinstance(first, ast.Name) and first.id in strings):
                    yield where
            # A located problem in English only (not Problem.of(where, Text(...))); a definition
            # file's own findings (the loader's) speak its YAML terms to its author.
            english = node.func.id == "Problem" and len(node.args) > 1 and "what" not in keywords
            if english and path.name != "loader.py":
                yield where


def test_every_error_the_engine_raises_carries_a_message_id() -> None:
    names = _error_names()
    found = {
        where
        for package in RAISING
        for path in sorted((ENGINE / package).rglob("*.py"))
        for where in _english_only(path, names)
    }
    assert sorted(found) == []


def _message_ids() -> set[str]:
    """Every message id marked in the engine's and the web layer's Python source."""
    ids: set[str] = set()
    for top in ("eva_engine", "web"):
        for path in (ROOT / top).rglob("*.py"):
            for _, message, _, _ in extract_from_file("python", str(path)):
                ids.update([message] if isinstance(message, str) else [m for m in message if m])
    return ids


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_every_message_id_is_in_the_catalog(language: str) -> None:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = {m.id: m.string for m in read_po(source) if m.id and m.string}
    assert sorted(_message_ids() - set(catalog)) == []
