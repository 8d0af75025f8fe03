"""The reconciler restarts a load whose job vanished, a few times, then says it failed."""

from helpers import login
from itglue_flow_helpers import held_queue

from jobs.imports import LOAD_GAVE_UP, MAX_LOAD_REQUEUES, reconcile
from webapp.models import Integration, utcnow


def test_a_vanished_load_is_restarted_then_given_up_with_a_message(app, client, admin, partner):
    integration = Integration.create(
        partner=partner, region="us", encrypted_key="not-decryptable", key_hint="abcd",
        load_state="loading", load_number=1, loaded_at=None,
    )  # fmt: skip
    queue = app.extensions["queue"]
    with held_queue(app):  # no worker runs the restarted loads: their jobs keep vanishing
        for attempt in range(1, MAX_LOAD_REQUEUES + 1):
            queue.empty()  # the job is gone, as after a Redis restart without persistence
            assert reconcile()["requeued"] == 1
            assert Integration.get_by_id(integration.id).load_requeues == attempt
            assert queue.fetch_job(f"load-{partner.id}-1") is not None
        queue.empty()
        assert reconcile()["requeued"] == 0
    stored = Integration.get_by_id(integration.id)
    assert stored.load_state == "failed" and stored.load_error == LOAD_GAVE_UP
    login(client, admin.email)
    assert LOAD_GAVE_UP in client.get("/my-organization").get_data(as_text=True)


def test_refresh_starts_the_count_again(app, admin_client, partner):
    Integration.create(
        partner=partner, region="us", encrypted_key="x", key_hint="abcd", load_state="failed",
        load_number=4, load_requeues=MAX_LOAD_REQUEUES, loaded_at=utcnow(),
    )  # fmt: skip
    assert admin_client.post("/integrations/itglue/refresh").status_code == 302
    stored = Integration.get()
    assert stored.load_number == 5 and stored.load_requeues == 0


def test_reconciler_survives_an_unreachable_redis(app, database):
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from webapp.queue import reconcile as reconcile_in_worker

    nowhere = Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    assert reconcile_in_worker(app, nowhere) is None  # logged, and the worker keeps running
