"""Fixtures: an app on SQLite + embedded queue by default, or on PostgreSQL + Redis when
DATABASE_URL and REDIS_URL are set (as `make test` and `.ci/run` do for the second pass)."""

import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import (
    MASTER_KEY,
    SERVICE_DATABASE,
    SERVICE_REDIS,
    login,
    make_partner,
    make_user,
    service_env,
)
from werkzeug.serving import make_server

from webapp import create_app
from webapp.db import create_tables, db, drop_tables
from webapp.itglue.sandbox.app import create_sandbox, sandbox_keys
from webapp.models import MODELS, ProtectedDomain

ROOT = Path(__file__).resolve().parent.parent


def pytest_report_header(config):
    database = "PostgreSQL " + SERVICE_DATABASE if SERVICE_DATABASE else "SQLite (temporary file)"
    redis = "Redis " + SERVICE_REDIS + " with rq worker processes" if SERVICE_REDIS else "embedded"
    return [f"backend: database {database}; queue {redis}"]


@pytest.fixture(scope="session")
def sandbox():
    """The IT Glue sandbox as a real local server, shared by the session (one party we simulate)."""
    sandbox = create_sandbox(orgs=40, domains_per_org=2, seed=7)
    server = make_server("127.0.0.1", 0, sandbox, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    yield SimpleNamespace(
        app=sandbox,
        url=url,
        keys=sandbox_keys(sandbox),
        urls={region: f"{url}/{region}" for region in ("us", "eu", "au")},
    )
    server.shutdown()


@pytest.fixture(scope="session")
def _schema():
    if SERVICE_DATABASE:
        app = create_app(_config(SERVICE_DATABASE))
        with app.app_context():
            drop_tables()
            create_tables()
    return SERVICE_DATABASE


def _config(database_url, urls=None, **extra):
    config = {f"ITGLUE_URL_{region.upper()}": url for region, url in (urls or {}).items()}
    config |= {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "ENCRYPTION_KEY": MASTER_KEY,
        "WTF_CSRF_ENABLED": False,
        "REDIS_URL": SERVICE_REDIS or None,
        "SUPPORT_EMAIL": "support@example.test",
    }
    config.update(extra)
    return config


@pytest.fixture
def app_config():
    """Per-test overrides of the app configuration (override this fixture in a module)."""
    return {}


@pytest.fixture
def app(_schema, sandbox, tmp_path, app_config):
    url = SERVICE_DATABASE or f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app(_config(url, sandbox.urls, **app_config))
    with app.app_context():
        if SERVICE_DATABASE:
            names = ", ".join(f'"{m._meta.table_name}"' for m in MODELS)
            with db.connection_context():
                db.execute_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        else:
            create_tables()
        with db.connection_context():
            ProtectedDomain.seed()
        if SERVICE_REDIS:
            app.extensions["queue"].connection.flushdb()
    yield app
    embedded = app.extensions["embedded_worker"]
    if embedded is not None:
        embedded.stop()
    if not db.is_closed():
        db.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def database(app):
    """A connection for the test body itself, for arranging rows and checking them."""
    with app.app_context():
        db.connect(reuse_if_open=True)
        yield db
        if not db.is_closed():
            db.close()


@pytest.fixture
def partner(database):
    return make_partner()


@pytest.fixture
def admin(partner):
    return make_user("admin@acme.test", partner, "admin", integration_access=True)


@pytest.fixture
def admin_client(client, admin):
    login(client, admin.email)
    return client


@pytest.fixture
def workers(app, sandbox):
    """Real `rq worker` processes when Redis is configured; the embedded worker otherwise."""
    processes = []
    if SERVICE_REDIS:
        env = service_env(sandbox)
        for _ in range(2):
            processes.append(
                subprocess.Popen(
                    [str(Path(sys.executable).parent / "rq"), "worker", *worker_arguments()],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
    yield processes
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def worker_arguments():
    """The worker command line that README documents, minus the executable."""
    return [
        "--url",
        SERVICE_REDIS,
        "--worker-class",
        "webapp.queue.AppWorker",
        "--serializer",
        "rq.serializers.JSONSerializer",
        "--disable-job-desc-logging",
        "--with-scheduler",
        "default",
    ]


def sqlite_only():
    return pytest.mark.skipif(bool(SERVICE_DATABASE), reason="SQLite-specific")
