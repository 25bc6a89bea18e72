import pytest


@pytest.mark.django_db
def test_health_reports_the_database_up(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up"}


def test_health_refuses_other_methods(client):
    assert client.post("/health/").status_code == 405


@pytest.mark.django_db
def test_health_answers_head(client):
    # Load balancers often probe with HEAD.
    response = client.head("/health/")
    assert response.status_code == 200
    assert response.content == b""
