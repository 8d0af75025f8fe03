import re

import pytest
from helpers import login, make_user, wait_for


@pytest.fixture
def support_client(client, database):
    make_user("ops@portal.test", None, "support")
    login(client, "ops@portal.test")
    return client


def test_system_page_shows_database_and_queue_health(support_client):
    page = support_client.get("/system").get_data(as_text=True)
    assert "Database" in page and "Redis" in page
    assert page.count('class="ok"') == 2
    assert "Ping workers" in page


def test_ping_workers_round_trips_a_job_through_the_queue(support_client, workers):
    response = support_client.post("/system/ping")
    assert response.status_code == 302
    location = response.headers["Location"]
    job_id = re.search(r"ping=([\w-]+)", location).group(1)

    def answered():
        fragment = support_client.get(f"/system/ping/{job_id}", headers={"HX-Request": "true"})
        text = fragment.get_data(as_text=True)
        return text if "A worker answered" in text else None

    text = wait_for(answered, timeout=60, interval=0.3)
    assert "database ok" in text
    assert "hx-trigger" not in text  # the result fragment stops polling by itself
    assert "A worker answered" in support_client.get(location).get_data(as_text=True)


def test_pending_ping_fragment_keeps_polling(support_client):
    response = support_client.post("/system/ping")
    job_id = re.search(r"ping=([\w-]+)", response.headers["Location"]).group(1)
    fragment = support_client.get(f"/system/ping/{job_id}", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert text.lstrip().startswith('<section id="ping-result"')
    assert "A worker answered" in text or 'hx-trigger="load delay:1s"' in text


def test_unknown_or_malformed_ping_ids_answer_404(support_client):
    assert support_client.get("/system/ping/does-not-exist").status_code == 404
    assert support_client.get("/system/ping/" + "a" * 100).status_code == 404
    assert support_client.get("/system/ping/a$b").status_code == 404


def test_partner_admin_cannot_see_the_system_page(admin_client):
    assert admin_client.get("/system").status_code == 403
    assert admin_client.get("/system/ping/x").status_code == 403
