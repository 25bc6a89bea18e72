"""Every project command's --help names the default of each option that has one."""

import argparse

import pytest
from django.core.management import get_commands, load_command_class

PROJECT_APPS = {"tasks", "perfaudit"}
COMMANDS = sorted((name, app) for name, app in get_commands().items() if app in PROJECT_APPS)


def test_the_project_has_commands():
    names = {name for name, _ in COMMANDS}
    assert {"seeddata", "demouser", "slowqueries", "profilequery", "explain"} <= names


@pytest.mark.parametrize(("name", "app"), COMMANDS)
def test_help_shows_defaults(name, app):
    parser = load_command_class(app, name).create_parser("manage.py", name)
    text = " ".join(parser.format_help().split())
    for action in parser._actions:
        default = action.default
        if not action.option_strings or default is None or default is False:
            continue
        if default is argparse.SUPPRESS:
            continue
        assert f"(default: {default})" in text, (action.option_strings, text)
