"""Support staff's health page: database, Redis and workers, with a queue round trip."""

from flask import Blueprint, abort, redirect, request, url_for
from redis.exceptions import RedisError
from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job

from webapp import queue
from webapp.auth import support_required
from webapp.db import db
from webapp.fragments import render
from webapp.models import Partner

bp = Blueprint("system", __name__, url_prefix="/system")


@bp.get("")
@support_required
def index():
    return render("system/index.html", "system_health", **health(), ping=_ping(request.args))


@bp.post("/ping")
@support_required
def ping():
    try:
        job = queue.enqueue("jobs.system.ping_workers")
    except RedisError:
        return redirect(url_for("system.index", ping_error="1"))
    return redirect(url_for("system.index", ping=job.id))


@bp.get("/ping/<job_id>")
@support_required
def ping_status(job_id):
    state = _ping({"ping": job_id})
    if state is None:
        abort(404)
    return render("system/index.html", "ping_result", ping=state)


def health():
    """Check the database, Redis and the workers, each on its own so one failure shows alone."""
    checks = {}
    try:
        db.execute_sql("SELECT 1")
        checks["database"] = {"ok": True, "detail": f"{Partner.select().count()} partners"}
    except Exception as error:  # noqa: BLE001 - any failure is what the operator must see
        checks["database"] = {"ok": False, "detail": type(error).__name__}
    workers = []
    try:
        q = queue.get_queue()
        q.connection.ping()
        checks["redis"] = {
            "ok": True,
            "detail": f"{len(q)} queued, {q.failed_job_registry.count} failed, "
            f"{q.started_job_registry.count} running",
        }
        workers = [
            {"name": w.name, "state": w.get_state(), "jobs": w.successful_job_count}
            for w in Worker.all(queue=q)
        ]
    except RedisError as error:
        checks["redis"] = {"ok": False, "detail": type(error).__name__}
    return {"checks": checks, "workers": workers, "embedded": _embedded()}


def _embedded():
    from flask import current_app

    return current_app.extensions["embedded_worker"] is not None


def _ping(args):
    job_id = args.get("ping")
    if args.get("ping_error"):
        return {"state": "error", "detail": "Redis could not be reached; nothing was queued."}
    if not job_id:
        return None
    if len(job_id) > 64 or not job_id.replace("-", "").isalnum():
        return None
    try:
        job = Job.fetch(
            job_id, connection=queue.connection(), serializer=queue.get_queue().serializer
        )
    except NoSuchJobError:
        return None
    except RedisError:
        return {"state": "error", "detail": "Redis could not be reached."}
    status = job.get_status()
    if job.is_finished:
        return {"state": "finished", "id": job_id, "result": job.return_value()}
    if job.is_failed:
        return {
            "state": "failed",
            "id": job_id,
            "detail": "The ping job failed; see the worker log.",
        }
    return {"state": str(status.value if hasattr(status, "value") else status), "id": job_id}
