"""Races through HTTP: the last licenses, the same organization twice, a double-clicked Import, and
the reconciler finishing rows that lost their job. Real races on PostgreSQL + Redis + 2 workers."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from helpers import SERVICE_REDIS, login, wait_for
from itglue_flow_helpers import (
    BASE,
    choices,
    held_queue,
    jobs_waiting,
    monitored,
    refreshed,
    row,
    run_queue,
    seed_snapshot,
    status_of,
    table_html,
    text,
    wait_final,
)
from rq import Worker

from jobs.imports import GIVE_UP, reconcile
from webapp import domains, importing
from webapp.models import (
    IMPORTED,
    PENDING,
    UNIMPORTED,
    ImportRun,
    ITGlueOrganization,
    MonitoredDomain,
    Organization,
    OrganizationLink,
    Partner,
    utcnow,
)


def workers_ready(app, count=2):
    if SERVICE_REDIS:
        connection = app.extensions["queue"].connection
        wait_for(lambda: len(Worker.all(connection=connection)) >= count, timeout=30)


def post_together(app, email, url, forms):
    """POST the forms at the same moment from separate signed-in browsers; return (client, response)."""
    clients = [app.test_client() for _ in forms]
    for client in clients:
        login(client, email)
    barrier = threading.Barrier(len(forms))

    def post(client, form):
        barrier.wait()
        return client, client.post(url, data=form)

    with ThreadPoolExecutor(len(forms)) as pool:
        return list(pool.map(post, clients, forms))


def toast(client, response):
    assert response.status_code == 302, response.get_data(as_text=True)
    return text(client.get(response.headers["Location"]).get_data(as_text=True))


def test_two_imports_racing_for_the_last_licenses(app, admin, partner, workers):
    Partner.update(domain_licenses=3).where(Partner.id == partner.id).execute()
    seed_snapshot(partner, [("North Ltd", ["north-a.test", "north-b.test"]),
                            ("South Ltd", ["south-a.test", "south-b.test"])])  # fmt: skip
    north, south = row("North Ltd"), row("South Ltd")
    workers_ready(app)
    results = post_together(
        app, admin.email, f"{BASE}/imports", [choices([north]), choices([south])]
    )
    for client, response in results:
        assert "Import started" in toast(client, response)
    wait_final([north, south])
    assert MonitoredDomain.select().count() == 3  # never more than the partner's licenses
    outcomes = sorted((r.status, r.outcome) for r in map(refreshed, (north, south)))
    assert outcomes == [
        (IMPORTED, None),
        (UNIMPORTED, "1 of 2 domains imported. Domain license limit reached."),
    ]
    loser = next(r for r in map(refreshed, (north, south)) if r.status == UNIMPORTED)
    client = results[0][0]
    assert status_of(table_html(client), loser.id) == (
        "Unimported 1 of 2 domains imported. Domain license limit reached. Retry"
    )
    assert "Domain licenses: 3 used of 3 · 0 available" in text(table_html(client))


def test_same_organization_imported_twice_at_once(app, admin, partner, request):
    seed_snapshot(partner, [("Twin Ltd", ["twin-a.test", "twin-b.test"])])
    twin = row("Twin Ltd")
    with held_queue(app):
        results = post_together(app, admin.email, f"{BASE}/imports", [choices([twin])] * 2)
        toasts = sorted(toast(client, response) for client, response in results)
        assert jobs_waiting(app) == 1  # one job for the row, not two
    assert "Those organizations are already being imported." in toasts[1]
    assert "Import started" in toasts[0]
    assert ImportRun.select().count() == 1
    run_queue(app, request)
    wait_final([twin])
    assert refreshed(twin).status == IMPORTED and refreshed(twin).attempt == 1
    assert Organization.select().count() == 1
    assert OrganizationLink.select().count() == 1
    assert monitored(partner) == ["twin-a.test", "twin-b.test"]


def test_double_clicked_import_starts_once(app, admin_client, partner, request):
    seed_snapshot(partner, [("Click Ltd", ["click.test"]), ("Clack Ltd", ["clack.test"])])
    rows = [row("Click Ltd"), row("Clack Ltd")]
    with held_queue(app):
        first = admin_client.post(f"{BASE}/imports", data=choices(rows))
        assert "Import started" in toast(admin_client, first)
        second = admin_client.post(f"{BASE}/imports", data=choices(rows))
        page = toast(admin_client, second)
        assert "Those organizations are already being imported." in page
        assert "Import started" not in page
        fragment = admin_client.post(
            f"{BASE}/imports", data=choices(rows), headers={"HX-Request": "true"}
        )
        assert "already being imported" in text(fragment.get_data(as_text=True))
        assert jobs_waiting(app) == 1
        page = table_html(admin_client)
        assert [status_of(page, r.id) for r in rows] == ["Pending", "Pending"]
    assert ImportRun.select().count() == 1
    run_queue(app, request)
    wait_final(rows)
    assert [refreshed(r).status for r in rows] == [IMPORTED, IMPORTED]
    assert Organization.select().count() == 2
    assert monitored(partner) == ["clack.test", "click.test"]


def left_pending(r, age):
    """What a killed worker or a restarted Redis leaves: a pending row whose job is gone."""
    ITGlueOrganization.update(
        status=PENDING,
        attempt=ITGlueOrganization.attempt + 1,
        employee_count="1-10",
        industry="Retail",
        status_changed_at=utcnow() - age,
        job_id="import-gone",
    ).where(ITGlueOrganization.id == r.id).execute()
    return refreshed(r)


def test_reconciler_requeues_a_pending_row_whose_job_vanished(app, admin_client, partner, request):
    seed_snapshot(partner, [("Orphan Ltd", ["orphan.test"])])
    with held_queue(app):
        orphan = left_pending(row("Orphan Ltd"), timedelta(minutes=5))
        app.extensions["queue"].empty()
        assert reconcile() == {"requeued": 1, "closed": 0}
        assert reconcile() == {"requeued": 0, "closed": 0}  # its job is queued: no second one
        assert jobs_waiting(app) == 1
    run_queue(app, request)
    wait_final([orphan])
    assert refreshed(orphan).status == IMPORTED
    assert monitored(partner) == ["orphan.test"]
    assert status_of(table_html(admin_client), orphan.id) == "Imported"
    assert reconcile() == {"requeued": 0, "closed": 0}


def test_reconciler_closes_a_row_pending_past_give_up(app, admin_client, partner):
    seed_snapshot(partner, [("Stuck Ltd", ["stuck.test"])])
    with held_queue(app):
        stuck = left_pending(row("Stuck Ltd"), GIVE_UP + timedelta(minutes=1))
        assert reconcile() == {"requeued": 0, "closed": 1}
        assert jobs_waiting(app) == 0
        after = refreshed(stuck)
        assert (after.status, after.outcome) == (UNIMPORTED, domains.ERROR)
        # A job for that attempt that turns up late imports nothing.
        assert importing.import_organization(stuck.id, stuck.attempt) is None
    assert status_of(table_html(admin_client), stuck.id) == (
        "Unimported There was an error in the Import Retry"
    )
    assert Organization.select().count() == 0 and monitored(partner) == []
