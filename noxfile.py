"""perfaudit's release check and test matrix (``make test-matrix``; ``nox -l`` lists the cells).

- ``package``: ``python -m build`` (sdist + wheel) into var/matrix/dist, ``twine check --strict``.
- ``tests``: one cell per supported (Python, Django) pair and PostgreSQL server. Each cell installs
  the built wheel *with its dependencies* and the cell's Django, then runs perfaudit's own suite
  (perfaudit/tests, standalone settings: not the demo project) on that server; the suite's
  ``package`` test installs the wheel again into a fresh virtualenv and runs new
  ``startproject`` projects on it (the install check).

Interpreters come from PATH or pyenv (``$(pyenv root)/versions/3.X.*``). A missing one is said
out loud and its cells are skipped (``--error-on-missing-interpreters``, as CI runs it: failed).
A PostgreSQL server that does not answer skips its cells with the reason.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
MATRIX = ROOT / "var" / "matrix"
DIST = MATRIX / "dist"

#: (Python, Django): every Django release perfaudit supports, each with a Python it supports
#: (Django 6.x needs Python >= 3.12). pyproject.toml's classifiers and dependency range say the
#: same; perfaudit/tests/test_package.py checks that they agree.
CELLS = [("3.11", "5.2"), ("3.12", "6.0"), ("3.13", "6.1")]
#: The embedded PostgreSQL 18 (pg_stat_statements preloaded) and the machine's PostgreSQL 15
#: (not preloaded: the tests that need it skip, with the reason).
SERVERS = {
    "pg18": None,  # this checkout's embedded server (taskproject.embedded_db)
    "pg15": os.environ.get("MATRIX_PG15_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
}

nox.options.envdir = str(MATRIX / "nox")
nox.options.sessions = ["package", "tests"]
nox.options.download_python = "never"  # test the interpreters this machine has, or say so


def _requirement(name: str) -> str:
    """``name==version`` as requirements-dev.txt (or requirements.txt) pins it."""
    for filename in ("requirements-dev.txt", "requirements.txt"):
        text = (ROOT / filename).read_text()
        match = re.search(rf"^{re.escape(name)}==(\S+)", text, re.M | re.I)
        if match:
            return f"{name}=={match.group(1)}"
    raise LookupError(f"{name} is not pinned in requirements-dev.txt or requirements.txt")


def _version_of(executable: str) -> str | None:
    try:
        result = subprocess.run(  # noqa: S603 (an interpreter we found, fixed arguments)
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _find_interpreter(version: str, path: list[str]) -> str | None:
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    on_path = shutil.which(f"python{version}", path=os.pathsep.join(path))
    # Highest patch release first: 3.12.10 before 3.12.9.
    installed = sorted(
        glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", Path(p).parents[1].name)],
        reverse=True,
    )
    for candidate in filter(None, [on_path, *installed]):
        if _version_of(candidate) == version:
            return candidate
    return None


def _expose_interpreters() -> None:
    """Put pythonX.Y for each cell on PATH (var/matrix/bin), found on PATH or under pyenv.

    pyenv's shims are taken off PATH: a shim named python3.12 exists whether or not 3.12 is
    selected, and would turn "no interpreter" into a failed virtualenv instead of a skip.
    """
    bindir = MATRIX / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    path = [
        p
        for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and Path(p).name != "shims" and Path(p) != bindir
    ]
    for version, _django in CELLS:
        link = bindir / f"python{version}"
        link.unlink(missing_ok=True)
        found = _find_interpreter(version, path)
        if found:
            link.symlink_to(found)
        else:
            print(
                f"test matrix: NO Python {version} interpreter (looked on PATH and in "
                f"$(pyenv root)/versions/{version}.*): its cells are SKIPPED (with "
                "--error-on-missing-interpreters: FAILED), never passed",
                file=sys.stderr,
            )
    os.environ["PATH"] = os.pathsep.join([str(bindir), *path])


_expose_interpreters()


def _server_url(session: nox.Session, server: str, python: str, django: str) -> str:
    url = SERVERS[server]
    if url is None:
        # This checkout's embedded PostgreSQL 18 (started by `make test-matrix` via `make db`).
        started = subprocess.run(
            [sys.executable, "-m", "taskproject.embedded_db", "start"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if started.returncode != 0:
            session.error(f"embedded PostgreSQL did not start: {started.stderr.strip()}")
        url = started.stdout.strip().rsplit(": ", 1)[-1]
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        session.skip(f"{server}: no PostgreSQL answers at {url} ({str(exc).strip()[:200]})")
    # A database name of this checkout and cell: the system server is shared with other
    # checkouts running their own suites (pytest-django creates test_<name>). Short: commands'
    # headers name the database and the tests hold them to 100 columns.
    tag = hashlib.sha256(str(ROOT).encode()).hexdigest()[:6]
    name = f"pa_{tag}_{python.replace('.', '')}_{django.replace('.', '')}"
    base, _, query = url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@nox.session(venv_backend="none")
def package(session: nox.Session) -> None:
    """sdist + wheel with `python -m build`, `twine check --strict` (README renders on PyPI)."""
    shutil.rmtree(DIST, ignore_errors=True)
    session.run(sys.executable, "-m", "build", "--outdir", str(DIST), str(ROOT))
    artifacts = sorted(str(p) for p in DIST.iterdir())
    session.run(sys.executable, "-m", "twine", "check", "--strict", *artifacts)


@nox.session(requires=["package"])
@nox.parametrize("server", list(SERVERS), ids=list(SERVERS))
@nox.parametrize(("python", "django"), CELLS, ids=[f"py{p}-dj{d}" for p, d in CELLS])
def tests(session: nox.Session, django: str, server: str) -> None:
    """perfaudit's suite and the install check, on one Django x Python pair and one server."""
    url = _server_url(session, server, session.python, django)
    (wheel,) = DIST.glob("django_perfaudit-*.whl")
    session.install(
        str(wheel),
        f"Django=={django}.*",
        "psycopg[binary]",
        _requirement("pytest"),
        _requirement("pytest-django"),
        # perfaudit's gate has property tests (test_gate_properties.py).
        _requirement("hypothesis"),
    )
    session.run("python", "-m", "django", "--version")
    session.run(
        "python",
        "-m",
        "pytest",
        "-c",
        "perfaudit/tests/standalone.ini",
        "--rootdir",
        str(ROOT),
        "-q",
        *session.posargs,
        env={"DATABASE_URL": url, "PERFAUDIT_WHEEL": str(wheel)},
    )
