"""The distribution itself: the wheel's metadata says what the test matrix tests (noxfile.py),
its files are perfaudit's only, the README is its long description, and the docs' Install line
works on list and tuple settings. test_install.py installs it into new projects.

The wheel is ``PERFAUDIT_WHEEL`` (the matrix's ``package`` session: ``python -m build``), or one
built here with pip.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

import perfaudit

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "perfaudit.md"

pytestmark = [
    pytest.mark.package,
    pytest.mark.skipif(
        not (ROOT / "pyproject.toml").exists(), reason="needs the source tree (pyproject.toml)"
    ),
]

# Every perfaudit command, with the arguments it needs on the shop schema. A command added to
# perfaudit without an entry here fails test_every_command_is_checked.
COMMANDS = {
    "auditindexes": [],
    "tablestats": ["--table", "shop_product"],
    "explain": ["SELECT * FROM shop_product WHERE category_id = 1"],
    "profilequery": ["SELECT count(*) FROM shop_product", "--iterations", "2"],
    "slowqueries": [],
    "dbconnections": [],
    "dbhealth": [],
    "adviseindexes": ["--sql", "SELECT * FROM shop_product WHERE price > 10"],
}
#: Commands that set something up rather than report (no --format): run with these arguments.
SETUP_COMMANDS = {"perfauditrole": ["--print"]}
#: History (docs/perfaudit.md, "History"): their own JSON documents, run twice then compared.
HISTORY_COMMANDS = {"capturestats": [], "perfchanges": ["--since", "1h"]}


def install_section() -> tuple[list[list[str]], str]:
    """docs/perfaudit.md's "Install" section: its ``pip install`` argument lists, and its
    settings block, verbatim."""
    text = DOCS.read_text()
    section = text.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", section, re.M | re.S)
    pip_lines = [
        shlex.split(line.split("#", 1)[0])[2:]
        for lang, body in blocks
        if not lang
        for line in body.splitlines()
        if line.startswith("pip install ")
    ]
    (settings_block,) = [body for lang, body in blocks if lang == "python"]
    return pip_lines, settings_block


def run(args, *, cwd=None, env=None, timeout=600, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0 or not check, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module", name="wheel")
def built_wheel(tmp_path_factory) -> Path:
    """The matrix's wheel (``python -m build`` in its package session), or one built here."""
    given = os.environ.get("PERFAUDIT_WHEEL")
    if given:
        return Path(given)
    dist = tmp_path_factory.mktemp("dist")
    # sdist first, the wheel from the sdist: never from an in-tree build/ directory, whose stale
    # copies of deleted modules would slip into the wheel.
    run([sys.executable, "-m", "build", "--outdir", dist, ROOT])
    (built,) = dist.glob("django_perfaudit-*.whl")
    return built


def wheel_metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode()), archive.namelist()


def matrix_cells() -> list[tuple[str, str]]:
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    (cells,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["CELLS"]
    ]
    return ast.literal_eval(cells)


def following(version: str, step: int) -> str:
    """The minor release ``step`` away: 5.2 -> 5.1 (-1), 6.1 -> 6.2 (+1). 6.0 - 1 is 5.2: the
    only major boundary we cross, Django's x.2 LTS being each major's last minor."""
    major, minor = map(int, version.split("."))
    if minor + step < 0:
        return f"{major - 1}.2"
    return f"{major}.{minor + step}"


def test_metadata_says_what_the_matrix_tests(wheel):
    meta, names = wheel_metadata(wheel)
    assert meta["Name"] == "django-perfaudit"
    assert meta["Version"] == perfaudit.__version__
    assert f"## {perfaudit.__version__} " in (ROOT / "perfaudit" / "CHANGELOG.md").read_text()
    cells = matrix_cells()
    pythons = sorted({p for p, _ in cells}, key=lambda v: tuple(map(int, v.split("."))))
    djangos = sorted({d for _, d in cells}, key=lambda v: tuple(map(int, v.split("."))))
    classifiers = meta.get_all("Classifier")
    assert [c.rsplit(" :: ", 1)[1] for c in classifiers if "Python :: 3." in c] == pythons
    assert [c.rsplit(" :: ", 1)[1] for c in classifiers if "Django :: " in c] == djangos
    # The ranges admit exactly the tested releases: not the one before, not the next one.
    python_range = SpecifierSet(meta["Requires-Python"])
    assert all(python_range.contains(f"{p}.0") for p in pythons)
    assert not python_range.contains(following(pythons[0], -1))
    (django,) = [r for r in map(Requirement, meta.get_all("Requires-Dist")) if r.name == "Django"]
    assert all(django.specifier.contains(f"{d}.0") for d in djangos)
    assert not django.specifier.contains(following(djangos[0], -1))
    assert not django.specifier.contains(following(djangos[-1], +1))
    # The long description is the package README, rendered as Markdown on PyPI.
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta.get_payload().strip() == (ROOT / "perfaudit" / "README.md").read_text().strip()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["readme"] == "perfaudit/README.md"
    for foreign in ("tasks/", "taskproject/", "benchmarks/", "perfaudit/tests/"):
        assert not [n for n in names if n.startswith(foreign)]
    assert "perfaudit/templates/admin/perfaudit/overview.html" in names
    # The admin pages' scripts and the vendored libraries with their licences (no CDN).
    for static in ("charts.js", "plan.js", "vendor/uplot/LICENSE", "vendor/pev2/pev2.umd.js"):
        assert f"perfaudit/static/perfaudit/{static}" in names
    assert "perfaudit/migrations/0001_dashboard.py" in names


def test_every_command_is_checked(wheel):
    _, names = wheel_metadata(wheel)
    shipped = {
        Path(n).stem
        for n in names
        if n.startswith("perfaudit/management/commands/") and not n.endswith("__init__.py")
    }
    assert shipped == set(COMMANDS) | set(SETUP_COMMANDS) | set(HISTORY_COMMANDS)


def test_docs_install_line_works_for_list_and_tuple_settings():
    # `INSTALLED_APPS += [...]` raises TypeError when startproject's list was made a tuple.
    _, block = install_section()
    line = next(line for line in block.splitlines() if line.startswith("INSTALLED_APPS"))
    for apps in (["django.contrib.admin"], ("django.contrib.admin",)):
        namespace = {"INSTALLED_APPS": apps}
        exec(line, namespace)  # noqa: S102 (our own docs' line)
        assert list(namespace["INSTALLED_APPS"]) == ["django.contrib.admin", "perfaudit"]
    # The package README (PyPI's page) tells the same.
    assert line in (ROOT / "perfaudit" / "README.md").read_text()
