"""Importing chosen IT Glue organizations, and finishing work that a lost worker left behind."""

import logging
from datetime import timedelta

from redis.exceptions import RedisError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from webapp import domains, importing, queue
from webapp.models import PENDING, UNIMPORTED, Integration, ITGlueOrganization, utcnow

log = logging.getLogger(__name__)

# A pending row whose job has vanished (Redis restarted, worker killed) is re-enqueued after
# STALE; one that is still pending after GIVE_UP is closed as an error, so none waits forever.
STALE = timedelta(minutes=2)
GIVE_UP = timedelta(minutes=30)
LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def import_organization(row_id, attempt):
    """Import one IT Glue organization row (by id) for the given attempt."""
    return importing.import_organization(row_id, attempt)


def job_id(row):
    # The attempt is part of the id, so a retry never collides with the previous job's record.
    return f"import-{row.integration.partner_id}-{row.id}-{row.attempt}"


def enqueue_imports(rows):
    """Enqueue one job per row; a Redis outage leaves the rows pending for the reconciler."""
    try:
        for row in rows:
            queue.enqueue(
                "jobs.imports.import_organization", row.id, row.attempt, job_id=job_id(row)
            )
    except RedisError:
        log.warning("Redis unavailable while enqueuing imports; the reconciler will retry")
        return False
    return True


def reconcile():
    """Re-enqueue pending rows and loads whose jobs are gone; close rows stuck too long."""
    now = utcnow()
    stale = ITGlueOrganization.select().where(
        ITGlueOrganization.status == PENDING, ITGlueOrganization.status_changed_at < now - STALE
    )
    requeued = closed = 0
    for row in stale:
        if _alive(job_id(row)):
            continue  # merely waiting in a long queue
        if row.status_changed_at < now - GIVE_UP:
            closed += importing.finish(row.id, row.attempt, UNIMPORTED, domains.ERROR)
        else:
            requeued += enqueue_imports([row])
    for integration in Integration.select().where(Integration.load_state == "loading"):
        if not _alive(f"load-{integration.partner_id}-{integration.load_number}"):
            from webapp.integrations import enqueue_load

            enqueue_load(integration)
    return {"requeued": requeued, "closed": closed}


def _alive(job_id):
    try:
        job = Job.fetch(job_id, connection=queue.connection(), serializer=JSONSerializer)
    except Exception:  # noqa: BLE001 - no such job, or unreadable: either way not alive
        return False
    return job.get_status() in LIVE
