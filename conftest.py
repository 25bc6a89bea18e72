"""Fixtures shared by every app's tests: an owner, another user, a staff user."""

import pytest


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user(
        username="owner", email="owner@example.com", full_name="Olga Owner", password="pw-owner-1"
    )


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(
        username="other", email="other@example.com", full_name="Otto Other", password="pw-other-1"
    )


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        username="staff",
        email="staff@example.com",
        full_name="Stella Staff",
        password="pw-staff-1",
        is_staff=True,
    )


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Production uses the hashed-manifest storage, which needs `collectstatic` first; tests
    # render admin pages without collecting.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True, scope="session")
def _close_native_async_connections(django_db_setup):
    # The async endpoints' own connections (taskproject.asyncdb) stay open between requests;
    # close them before pytest-django drops the test database.
    yield
    from taskproject import asyncdb

    asyncdb.close_all()
