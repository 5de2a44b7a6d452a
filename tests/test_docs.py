"""What the documentation shows must be true."""

from __future__ import annotations

import re
from pathlib import Path

from eva_engine.config import default_workflows_dir
from eva_engine.services.assessment.documents import document_problems, parse_document
from eva_engine.workflow.diagram import mermaid
from eva_engine.workflow.loader import load_catalogue

ROOT = Path(__file__).resolve().parent.parent


def test_the_documented_assessment_example_is_a_valid_document() -> None:
    text = (ROOT / "docs" / "assessment-format.md").read_text(encoding="utf-8")
    example = re.search(r"```json\n(.*?)```", text, re.DOTALL)
    assert example is not None
    doc = parse_document(example.group(1))
    bundle = load_catalogue(default_workflows_dir()).bundle("eva-standard")
    assert document_problems(doc, bundle) == []


def test_the_documented_workflow_diagram_is_the_current_one() -> None:
    text = (ROOT / "docs" / "workflow.md").read_text(encoding="utf-8")
    bundle = load_catalogue(default_workflows_dir()).bundle("eva-standard")
    assert mermaid(bundle.workflow) in text


def test_the_readme_quick_start_is_the_two_make_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make run" in quick_start
    assert "make test" in quick_start
