"""The admin pages' bars and breakable identifiers (pure)."""

import pytest

from perfaudit.templatetags import perfaudit_extras as extras


@pytest.mark.parametrize(
    ("value", "largest", "percent"),
    [(50, 200, 25.0), (300, 200, 100.0), (0, 200, 0.0), (5, 0, 0.0), (None, 10, 0.0), (-1, 5, 0.0)],
)
def test_share_is_clamped(value, largest, percent):
    assert extras.share(value, largest) == percent


def test_bar_is_plain_html_with_the_width():
    html = extras.bar(1, 4)
    assert 'style="width: 25.0%"' in html and 'class="perfaudit-bar"' in html


def test_breakable_escapes_and_breaks_only_after_underscores_and_dots():
    assert extras.breakable("auth_group.x") == "auth_<wbr>group.<wbr>x"
    assert extras.breakable("<b>_") == "&lt;b&gt;_<wbr>"
