"""The project's URLs plus one test-only page: perfaudit's frame (base.html, hence charts.js and
the vendored uPlot) around the _chart.html partial, with chart data the test passes in
``CHARTS``. The browser test draws it; no view of the project renders invented data."""

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponse
from django.template import engines
from django.urls import path

from perfaudit.models import Dashboard
from taskproject.urls import urlpatterns as project_urlpatterns

#: The charts the page shows; the test sets it before opening the page.
CHARTS: list[dict] = []

PAGE = (
    '{% extends "admin/perfaudit/base.html" %}{% block page %}'
    '{% for chart in charts %}{% include "admin/perfaudit/_chart.html" %}{% endfor %}'
    "{% endblock %}"
)


@staff_member_required
def chart_page(request):
    template = engines["django"].from_string(PAGE)
    context = {
        **admin.site.each_context(request),
        "opts": Dashboard._meta,
        "title": "Chart test page",
        "tabs": [],
        "charts": CHARTS,
    }
    return HttpResponse(template.render(context, request))


urlpatterns = [path("chart-test/", chart_page, name="chart-test"), *project_urlpatterns]
