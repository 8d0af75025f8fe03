"""The status poller: cheap, tenant-scoped, and it stops by itself when nothing is pending."""

import logging

import pytest
from helpers import make_partner

from webapp.models import Integration, ITGlueOrganization, utcnow


class QueryCounter(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.queries = []

    def emit(self, record):
        self.queries.append(record.getMessage())


@pytest.fixture
def count_queries():
    logger = logging.getLogger("peewee")
    handler = QueryCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield handler.queries
    logger.removeHandler(handler)
    logger.setLevel(previous)


def make_snapshot(partner, rows=3, pending=()):
    integration = Integration.create(
        partner=partner, region="us", encrypted_key="x", key_hint="abcd",
        load_state="loaded", loaded_at=utcnow(), load_number=1, loaded_load=1,
    )  # fmt: skip
    created = []
    for i in range(rows):
        created.append(ITGlueOrganization.create(
            integration=integration, itglue_id=str(1000 + i), name=f"Org {i}",
            search_name=f"org {i}", first_load=1, seen_load=1,
            status="pending" if i in pending else None, attempt=1 if i in pending else 0,
            status_changed_at=utcnow(),
        ))  # fmt: skip
    return integration, created


def poll(client, rows):
    ids = ",".join(str(r.id) for r in rows)
    return client.get(f"/integrations/itglue/status?rows={ids}", headers={"HX-Request": "true"})


def test_poll_while_pending_keeps_its_trigger_and_costs_few_queries(
    admin_client, partner, count_queries
):
    _, rows = make_snapshot(partner, pending=(0, 1))
    count_queries.clear()
    response = poll(admin_client, rows[:2])
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="itglue-status"' in text and 'hx-trigger="load delay:1500ms"' in text
    assert "itglue-row-" not in text  # nothing changed: no row is re-sent
    selects = [q for q in count_queries if q.lstrip("('").upper().startswith("SELECT")]
    writes = [q for q in count_queries if not q.lstrip("('").upper().startswith("SELECT")]
    assert writes == []  # a GET writes nothing
    # user, partner, integration, changed rows (+ their domains), anything still pending
    print(f"\nqueries per status poll: {len(selects)}")
    assert len(selects) <= 6, selects


def test_poll_sends_only_rows_that_became_final_then_stops(admin_client, partner):
    _, rows = make_snapshot(partner, pending=(0, 1))
    ITGlueOrganization.update(status="imported", status_changed_at=utcnow()).where(
        ITGlueOrganization.id == rows[0].id
    ).execute()
    text = poll(admin_client, rows[:2]).get_data(as_text=True)
    assert f'id="itglue-row-{rows[0].id}"' in text and 'hx-swap-oob="true"' in text
    assert f'id="itglue-row-{rows[1].id}"' not in text
    assert f"rows={rows[1].id}" in text  # the next poll asks only about the one still pending
    ITGlueOrganization.update(status="unimported", outcome="0 of 1 domains imported.",
                              status_changed_at=utcnow()).where(
        ITGlueOrganization.id == rows[1].id).execute()  # fmt: skip
    final = poll(admin_client, rows[1:2]).get_data(as_text=True)
    assert "Unimported" in final and "0 of 1 domains imported." in final
    assert "hx-trigger" not in final.split('id="itglue-status"')[1].split(">")[0]


def test_poll_never_shows_another_partners_rows(admin_client, partner):
    other = make_partner("Other MSP")
    _, theirs = make_snapshot(other)
    make_snapshot(partner)
    ITGlueOrganization.update(status="imported", status_changed_at=utcnow()).execute()
    text = poll(admin_client, theirs).get_data(as_text=True)
    assert "itglue-row-" not in text


def test_poll_without_integration_is_404(admin_client):
    assert poll(admin_client, []).status_code == 404


def test_repeated_swaps_keep_one_poller(admin_client, partner):
    _, rows = make_snapshot(partner, pending=(0,))
    for _ in range(5):
        text = poll(admin_client, rows[:1]).get_data(as_text=True)
        assert text.count('id="itglue-status"') == 1


def test_final_rows_come_wrapped_for_out_of_band_swaps_with_the_summary(admin_client, partner):
    _, rows = make_snapshot(partner, pending=(0,))
    ITGlueOrganization.update(status="imported", status_changed_at=utcnow()).where(
        ITGlueOrganization.id == rows[0].id
    ).execute()
    text = poll(admin_client, rows[:1]).get_data(as_text=True)
    # A bare <tr> would be dropped by the HTML parser; htmx unwraps rows from a <template>.
    assert (
        text.index("<template>")
        < text.index(f'id="itglue-row-{rows[0].id}"')
        < text.index("</template>")
    )
    assert 'id="itglue-summary" hx-swap-oob="true"' in text and "1 imported" in text
    assert 'id="itglue-counter" class="counter" role="status" hx-swap-oob="true"' in text
