"""perfaudit's own static files: every page loads charts.js and the vendored uPlot from the
project's static files (never a CDN), each referenced file exists with its licence, and no
perfaudit template carries an inline script (a Content-Security-Policy without 'unsafe-inline'
keeps every page working)."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse

PACKAGE = Path(__file__).resolve().parents[1]
SCRIPT = re.compile(r"<script\b([^>]*)>", re.I)


FILES = ("perfaudit/vendor/uplot/uPlot.iife.min.js", "perfaudit/charts.js")


@pytest.mark.django_db
def test_pages_load_perfaudit_scripts_from_static_files(client, staff_user):
    client.force_login(staff_user)
    html = client.get(reverse("admin:perfaudit_overview")).content.decode()
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert [s for s in sources if "perfaudit/" in s] == [static(path) for path in FILES]
    assert all(finders.find(path) for path in FILES)
    assert 'href="{}"'.format(static("perfaudit/vendor/uplot/uPlot.min.css")) in html


def test_vendored_files_carry_their_licence():
    vendor = PACKAGE / "static" / "perfaudit" / "vendor"
    libraries = [d for d in vendor.iterdir() if d.is_dir()]
    assert libraries
    for library in libraries:
        assert (library / "LICENSE").is_file(), library.name


def test_no_inline_script_in_perfaudit_templates():
    for template in (PACKAGE / "templates").rglob("*.html"):
        for attributes in SCRIPT.findall(template.read_text()):
            assert "src=" in attributes, f"{template.name}: inline <script{attributes}>"
