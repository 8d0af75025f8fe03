"""The RQ queue bound to the app: real Redis when REDIS_URL is set, else an embedded one."""

import logging
import threading
import time
from contextlib import contextmanager

from flask import current_app
from redis import Redis
from rq import Queue, SimpleWorker, Worker
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty

QUEUE_NAME = "default"

log = logging.getLogger(__name__)


def init_app(app):
    url = app.config.get("REDIS_URL")
    if url:
        connection = Redis.from_url(url)
        embedded = None
    else:
        import fakeredis

        connection = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        embedded = EmbeddedWorker(app, connection)
    app.extensions["queue"] = Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)
    app.extensions["embedded_worker"] = embedded


def get_queue():
    return current_app.extensions["queue"]


def enqueue(func, *args, job_id=None, **options):
    """Put a job on the queue by its dotted name; jobs take ids, never secrets or objects."""
    job = get_queue().enqueue(
        func, *args, job_id=job_id, result_ttl=3600, failure_ttl=7 * 24 * 3600, **options
    )
    embedded = current_app.extensions["embedded_worker"]
    if embedded is not None:
        embedded.wake()
    return job


def connection():
    return get_queue().connection


RECONCILE_LOCK = "portal:reconcile-lock"
RECONCILE_EVERY = 60


class AppWorkerMixin:
    """Runs every job inside an app context with its own database connection, and reconciles."""

    app = None

    def perform_job(self, job, queue):
        with self.app.app_context(), _database_connection():
            return super().perform_job(job, queue)

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        reconcile(self.app, self.connection)


def reconcile(app, connection):
    """Finish work a lost worker or a restarted Redis left behind, once a minute across workers."""
    from jobs.imports import reconcile as reconcile_rows

    try:
        if not connection.set(RECONCILE_LOCK, "1", nx=True, ex=RECONCILE_EVERY - 5):
            return None
        with app.app_context(), _database_connection():
            return reconcile_rows()
    except Exception:
        # A failing reconciler must never take the worker down with it.
        log.exception("reconciler failed; it runs again within a minute")
        return None


@contextmanager
def _database_connection():
    """A connection of this process (or forked work horse) for the length of the block."""
    from webapp.db import db

    db.connect(reuse_if_open=True)
    try:
        yield
    finally:
        if not db.is_closed():
            db.close()


class AppWorker(AppWorkerMixin, Worker):
    """The worker class for `rq worker`: builds the app once from the environment."""

    def __init__(self, *args, **kwargs):
        from webapp import create_app

        kwargs.setdefault("serializer", JSONSerializer)
        kwargs.setdefault("maintenance_interval", RECONCILE_EVERY)
        super().__init__(*args, **kwargs)
        self.app = create_app()


class _ThreadWorker(AppWorkerMixin, SimpleWorker):
    # Signal handlers and SIGALRM timeouts only work in the main thread.
    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        pass


class EmbeddedWorker:
    """A worker thread for the in-process queue, started on the first job and stopped on exit."""

    def __init__(self, app, connection):
        self.app = app
        self.connection = connection
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self._lock = threading.Lock()

    def wake(self):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="rq-embedded", daemon=True)
                self._thread.start()
        self._wake.set()

    def stop(self, timeout=10):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self):
        queue = Queue(QUEUE_NAME, connection=self.connection, serializer=JSONSerializer)
        last_reconciled = 0.0
        while not self._stop.is_set():
            if time.monotonic() - last_reconciled > RECONCILE_EVERY:
                last_reconciled = time.monotonic()
                reconcile(self.app, self.connection)
            self._wake.clear()
            worker = _ThreadWorker([queue], connection=self.connection, serializer=JSONSerializer)
            worker.app = self.app
            try:
                worker.work(burst=True, logging_level="WARNING")
            except Exception:
                log.exception("embedded worker failed; continuing")
            self._wake.wait(0.5)
