"""The built wheel runs anywhere: it carries the workflow definitions, the migrations, the
templates and the compiled catalogs, so once installed into a fresh virtual environment outside
the checkout ``eva db upgrade``, ``eva demo-data`` and ``eva audit verify`` work and the web UI
renders in every language.

The wheel is built offline (``pip wheel --no-deps --no-build-isolation``, with this
interpreter's setuptools) from a copy of the working tree, so the checkout gets no ``build/``;
or EVA_TEST_WHEEL names one already built (``make wheel-smoke``).
The fresh environment has no pip and nothing of the checkout: the wheel is installed into it
with ``pip --python``, and a ``.pth`` file lends it this environment's site-packages for the
dependencies only (a path in a ``.pth`` file is not scanned for ``.pth`` files, so the editable
install's finder, which points at the checkout, never loads)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# One worker builds the wheel and its virtual environment once (pytest-xdist --dist loadgroup).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("fi", "sv", "en")
# Top-level folders of the checkout and where the wheel carries them.
DATA_DIRS = {"workflows": "eva_engine/definitions", "migrations": "eva_engine/migrations"}
# In the checkout but not needed at run time.
NOT_SHIPPED = {"eva_engine/translations/messages.pot"}
JUNK = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.pyc", ".*_cache", ".hypothesis", "build", "dist",
    "*.egg-info", "instance", "screenshots", "bench",
)  # fmt: skip


def _run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, (args, done.stderr)
    return done.stdout


def _compile_catalogs(translations: Path) -> None:
    """What ``make translations`` does before ``make wheel``: .mo files are not in git."""
    from babel.messages.mofile import write_mo  # noqa: PLC0415
    from babel.messages.pofile import read_po  # noqa: PLC0415

    for po in translations.glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as source:
            catalog = read_po(source)
        with po.with_suffix(".mo").open("wb") as target:
            write_mo(target, catalog)


def _can_build_offline(cwd: Path) -> bool:
    """This environment's setuptools builds wheels (the dev extra asks for >= 70.1): no
    download. Else (a .venv older than that extra) pip fetches the build requirements."""
    probe = "import setuptools.command.bdist_wheel"
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, check=False)
    return done.returncode == 0


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("EVA_TEST_WHEEL")  # `make wheel-smoke`: the wheel `make wheel` built
    if given:
        return Path(given).resolve()
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=JUNK)
    _compile_catalogs(source / "eva_engine" / "translations")
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    if _can_build_offline(work):
        build += ["--no-build-isolation", "--no-index"]
    _run([*build, "--wheel-dir", work / "dist", source], cwd=work)
    (built,) = (work / "dist").glob("eva-*.whl")
    return built


def _shipped_files() -> Iterator[tuple[Path, str]]:
    """Every file of the checkout the installed package needs, and its place in the wheel."""
    for top in ("eva_engine", "web", *DATA_DIRS):
        for path in sorted((ROOT / top).rglob("*")):
            relative = path.relative_to(ROOT).as_posix()
            if path.is_dir() or "__pycache__" in path.parts or relative in NOT_SHIPPED:
                continue
            if path.suffix == ".mo":
                continue  # built, not in git: checked per language below
            inside = relative.split("/", 1)
            yield path, "/".join([DATA_DIRS.get(inside[0], inside[0]), *inside[1:]])


def test_the_wheel_carries_every_module_definition_migration_template_and_catalog(
    wheel: Path,
) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for path, name in _shipped_files():
            assert name in names, f"{path.relative_to(ROOT)} is not in the wheel as {name}"
            assert archive.read(name) == path.read_bytes(), name
        for language in LANGUAGES:
            assert f"eva_engine/translations/{language}/LC_MESSAGES/messages.mo" in names, language
    for top, inside in DATA_DIRS.items():
        assert any(n.startswith(inside + "/") for n in names), top
    assert not any(n.startswith(("workflows/", "migrations/", "tests/")) for n in names)


@dataclass
class Installed:
    home: Path  # the working directory, outside the checkout
    python: Path
    eva: Path
    env: dict[str, str]

    def __call__(self, *args: str) -> str:
        return _run([self.eva, *args], cwd=self.home, env=self.env)


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    home = tmp_path_factory.mktemp("elsewhere")
    venv = home / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=home)
    python = venv / "bin" / "python"
    site = Path(
        _run([python, "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], home)
        .strip()
    )  # fmt: skip
    dependencies = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "eva-dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
         "--no-index", wheel],
        cwd=home,
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVA_", "PYTHON", "VIRTUAL"))}
    env |= {
        "EVA_DATABASE_URL": f"sqlite:///{home / 'eva.sqlite3'}",
        "EVA_INSTANCE_DIR": str(home / "instance"),
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    }
    return Installed(home=home, python=python, eva=venv / "bin" / "eva", env=env)


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    where = installed.python.parent.parent.resolve()
    found = _run(
        [installed.python, "-I", "-c",
         "import eva_engine, web, sys; print(eva_engine.__file__); print(web.__file__);"
         "print(*sys.path, sep='\\n')"],
        installed.home, installed.env,
    ).splitlines()  # fmt: skip
    for module in found[:2]:
        assert Path(module).resolve().is_relative_to(where), module
    assert not any(Path(p).resolve() == ROOT for p in found[2:] if p), found
    data = _run(
        [installed.python, "-I", "-c",
         "from eva_engine.config import default_workflows_dir, migrations_dir\n"
         "print(default_workflows_dir()); print(migrations_dir())"],
        installed.home, installed.env,
    ).split()  # fmt: skip
    for folder in data:
        assert Path(folder).resolve().is_relative_to(where), folder
        assert Path(folder).is_dir(), folder
    assert not (installed.home / "alembic.ini").exists()


def _login_pages(installed: Installed) -> list[str]:
    """The login page in each language, rendered by the installed web app."""
    script = (
        "import sys\n"
        "from web.app import create_app\n"
        "client = create_app().test_client()\n"
        "for language in sys.argv[1:]:\n"
        "    response = client.get('/login', headers={'Accept-Language': language})\n"
        "    assert response.status_code == 200, (language, response.status)\n"
        "    print(response.get_data(as_text=True), end='\\0')"
    )
    pages = _run([installed.python, "-I", "-c", script, *LANGUAGES], installed.home, installed.env)
    assert pages.endswith("\0"), pages[-300:]
    return pages.split("\0")[:-1]


def test_the_installed_eva_migrates_loads_demo_data_verifies_the_chain_and_serves_its_pages(
    installed: Installed,
) -> None:
    from alembic.script import ScriptDirectory  # noqa: PLC0415
    from babel.messages.pofile import read_po  # noqa: PLC0415

    from eva_engine.db.migrate import alembic_config  # noqa: PLC0415

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert f"Database at revision {head}." in installed("db", "upgrade")
    demo = json.loads(installed("--json", "demo-data"))
    assert demo["loaded"] is True, demo
    assert demo["proposals"] >= 10, demo
    verified = installed("audit", "verify")
    events = re.search(
        r"OK: (\d+) events verified in \d+ chain\(s\); the chains are intact\.", verified
    )
    assert events is not None, verified
    assert int(events[1]) > demo["proposals"], (verified, demo)

    pages = _login_pages(installed)
    assert len(pages) == len(LANGUAGES)
    for language, page in zip(LANGUAGES, pages, strict=True):
        po = ROOT / "eva_engine" / "translations" / language / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as source:
            log_in = read_po(source)["Log in"].string
        assert f'<html lang="{language}">' in page, page[:300]
        assert f"<h1>{log_in}</h1>" in page, (language, log_in, page)


def test_the_wheel_lists_every_package_of_the_checkout() -> None:
    """setup.cfg names eva's packages one by one (two are mapped from top-level folders): a
    package added to the code but not to that list would be missing from the wheel."""
    import configparser  # noqa: PLC0415

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("eva_engine", "web")
        for init in (ROOT / top).rglob("__init__.py")
        if "translations" not in init.parts and "templates" not in init.parts
    }
    assert found - listed == set(), "packages missing from setup.cfg [options] packages"
