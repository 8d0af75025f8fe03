"""Importing chosen IT Glue organizations, and finishing work that a lost worker left behind."""

import logging
import uuid
from datetime import timedelta

from redis.exceptions import RedisError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from webapp import domains, importing, queue
from webapp.models import (
    PENDING,
    UNIMPORTED,
    Integration,
    ITGlueOrganization,
    ProtectedDomain,
    utcnow,
)

log = logging.getLogger(__name__)

# A pending row whose job has vanished (Redis restarted, worker killed) is re-enqueued after
# STALE; one that is still pending after GIVE_UP is closed as an error, so none waits forever.
STALE = timedelta(minutes=2)
GIVE_UP = timedelta(minutes=30)
MAX_LOAD_REQUEUES = 3
LOAD_GAVE_UP = (
    "Loading from IT Glue stopped after repeated failures. Try Refresh from IT Glue; "
    "if it fails again, contact support."
)
LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


# Rows go to the queue in small batches: one job per organization spends more time in the
# queue machinery (a fork per job) than in the import itself.
BATCH = 20


def import_organizations(rows):
    """Import IT Glue organization rows, given as [row id, attempt] pairs, one at a time."""
    protected = ProtectedDomain.names()
    return [importing.import_organization(r, attempt, protected) for r, attempt in rows]


def enqueue_imports(rows):
    """Enqueue the rows in batches, noting each row's job; on a Redis outage they stay pending."""
    rows = list(rows)
    enqueued = 0
    try:
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            job_id = f"import-{batch[0].integration_id}-{batch[0].id}-{uuid.uuid4().hex[:12]}"
            ITGlueOrganization.update(job_id=job_id).where(
                ITGlueOrganization.id.in_([row.id for row in batch])
            ).execute()
            pairs = [[row.id, row.attempt] for row in batch]
            queue.enqueue("jobs.imports.import_organizations", pairs, job_id=job_id)
            enqueued += len(batch)
    except RedisError:
        log.warning("Redis unavailable while enqueuing imports; the reconciler will retry")
    return enqueued


def reconcile():
    """Re-enqueue pending rows and loads whose jobs are gone; close rows stuck too long."""
    now = utcnow()
    stale = ITGlueOrganization.select().where(
        ITGlueOrganization.status == PENDING, ITGlueOrganization.status_changed_at < now - STALE
    )
    requeued = closed = 0
    for row in stale:
        if row.job_id and _alive(row.job_id):
            continue  # merely waiting in a long queue
        if row.status_changed_at < now - GIVE_UP:
            closed += importing.finish(row.id, row.attempt, UNIMPORTED, domains.ERROR)
        else:
            requeued += enqueue_imports([row])
    for integration in Integration.select().where(Integration.load_state == "loading"):
        if not _alive(f"load-{integration.partner_id}-{integration.load_number}"):
            requeued += restart_load(integration)
    return {"requeued": requeued, "closed": closed}


def restart_load(integration):
    """Enqueue a load whose job vanished again, or give up after MAX_LOAD_REQUEUES tries."""
    from webapp.integrations import enqueue_load

    same_load = (Integration.id == integration.id) & (
        Integration.load_number == integration.load_number
    )
    if integration.load_requeues >= MAX_LOAD_REQUEUES:
        Integration.update(load_state="failed", load_phase=None, load_error=LOAD_GAVE_UP).where(
            same_load, Integration.load_state == "loading"
        ).execute()
        return 0
    Integration.update(load_requeues=Integration.load_requeues + 1).where(same_load).execute()
    enqueue_load(integration)
    return 1


def _alive(job_id):
    try:
        job = Job.fetch(job_id, connection=queue.connection(), serializer=JSONSerializer)
    except Exception:  # noqa: BLE001 - no such job, or unreadable: either way not alive
        return False
    return job.get_status() in LIVE
