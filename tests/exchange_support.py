"""Helpers shared by the exchange tests: sample files and the ``eva`` command line run on the
test's own (rolled back) database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from eva_engine.cli import cli
from eva_engine.services.runtime import Eva

DATA = Path(__file__).resolve().parent / "data" / "exchange"


def sample(name: str) -> Path:
    return DATA / name


def run(eva: Eva, *args: str, code: int = 0) -> Result:
    """``eva ARGS`` on the fixture's database; asserts the exit code and that no traceback."""
    result = CliRunner().invoke(cli, list(args), obj=eva)
    assert result.exit_code == code, (args, result.output, result.stderr, result.exception)
    assert "Traceback" not in result.output + result.stderr
    if code == 0:
        assert result.exception is None, result.exception
    return result


def run_json(eva: Eva, *args: str, code: int = 0) -> Any:
    result = run(eva, "--json", *args, code=code)
    return json.loads(result.stdout if code == 0 else result.stderr)
