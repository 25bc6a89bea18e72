"""Template helpers of the admin pages: bars drawn in server-rendered CSS (no JavaScript, no
chart library, no CDN) and identifiers that wrap only between their parts.

``{% bar value largest %}`` draws ``value`` as a share of ``largest`` (the page's biggest), so a
column of sizes or times reads at a glance; the number stays next to it for the exact figure.
"""

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

register = template.Library()


def share(value, largest) -> float:
    """value / largest in percent, clamped to 0..100; 0 when there is nothing to compare."""
    try:
        value, largest = float(value or 0), float(largest or 0)
    except (TypeError, ValueError):
        return 0.0
    if largest <= 0 or value <= 0:
        return 0.0
    return min(100.0, value * 100.0 / largest)


@register.simple_tag
def bar(value, largest, label=""):
    percent = share(value, largest)
    return format_html(
        '<span class="perfaudit-bar" role="img" aria-label="{}" title="{}">'
        '<span style="width: {}%"></span></span>',
        label or f"{percent:.0f} % of the largest",
        label or f"{percent:.0f} % of the largest",
        f"{percent:.1f}",
    )


@register.filter
def breakable(identifier):
    """``auth_group_permissions`` may wrap after an underscore or dot, never mid-word."""
    text = escape(str(identifier))
    return mark_safe(text.replace("_", "_<wbr>").replace(".", ".<wbr>"))  # noqa: S308 - escaped


@register.filter
def one_line(text):
    """A statement on one line (its newlines and indentation as single spaces), as the
    Queries page shows pg_stat_statements' text."""
    return " ".join(str(text or "").split())
