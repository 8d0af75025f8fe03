"""Time a 1,000-organization import from the Import click to no Pending row, with real workers.

Runs against PostgreSQL + Redis + N `rq worker` processes (the production shape) and the IT Glue
sandbox as a real local server. Prints the wall time of each run and the median.

    .venv/bin/python bench/import_organizations.py [--orgs 1000] [--workers 2] [--runs 3]

Needs DATABASE_URL (a PostgreSQL database it may fill; default .../bench, created if missing)
and REDIS_URL (default redis://127.0.0.1:6379/14, flushed).
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from werkzeug.serving import make_server  # noqa: E402

from webapp import create_app  # noqa: E402
from webapp.crypto import generate_master_key  # noqa: E402
from webapp.db import create_tables, db, drop_tables  # noqa: E402
from webapp.itglue.sandbox.app import create_sandbox, sandbox_keys  # noqa: E402
from webapp.models import Integration, ITGlueOrganization, MonitoredDomain, Partner, User  # noqa: E402

PASSWORD = "bench-password-1"


def ensure_database(url):
    import psycopg2
    from psycopg2.extensions import parse_dsn

    dsn = parse_dsn(url)
    name = dsn.pop("dbname")
    connection = psycopg2.connect(**dsn, dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def serve(wsgi_app):
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--domains-per-org", type=float, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    ensure_database(database_url)
    sandbox = create_sandbox(orgs=args.orgs, domains_per_org=args.domains_per_org, seed=3)
    _, sandbox_url = serve(sandbox)
    urls = {f"ITGLUE_URL_{r.upper()}": f"{sandbox_url}/{r}" for r in ("us", "eu", "au")}
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "bench",
        "ENCRYPTION_KEY": generate_master_key(),
        **urls,
    }
    app = create_app({**env, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        drop_tables()
        create_tables()
        app.extensions["queue"].connection.flushdb()
    workers = [
        subprocess.Popen(
            [str(Path(sys.executable).parent / "rq"), "worker", "--url", redis_url,
             "--worker-class", "webapp.queue.AppWorker",
             "--serializer", "rq.serializers.JSONSerializer",
             "--disable-job-desc-logging", "--with-scheduler", "default"],
            cwd=ROOT, env={**os.environ, **env},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(args.workers)
    ]  # fmt: skip
    try:
        times = [one_run(app, sandbox, run, args) for run in range(args.runs)]
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(10)
    print(f"\n{args.orgs} organizations, {args.workers} workers, PostgreSQL + Redis")
    for run, seconds in enumerate(times, 1):
        print(f"  run {run}: {seconds:6.2f} s  ({args.orgs / seconds:6.1f} organizations/s)")
    print(f"  median: {statistics.median(times):6.2f} s from Import click to no Pending row")


def one_run(app, sandbox, run, args):
    with app.app_context(), db.connection_context():
        partner = Partner.create(name=f"Bench MSP {run}", domain_licenses=1_000_000)
        user = User(email=f"admin{run}@bench.test", partner=partner, role="admin",
                    integration_access=True)  # fmt: skip
        user.set_password(PASSWORD)
        user.save()
    client = app.test_client()
    client.post("/login", data={"email": f"admin{run}@bench.test", "password": PASSWORD})
    key = sandbox_keys(sandbox)["us"]
    response = client.post("/integrations/itglue", data={"api_key": key, "region": "us"})
    assert response.status_code == 302, response.status_code
    with app.app_context():
        wait(lambda: Integration.get(Integration.partner == partner).load_state == "loaded", 300)
        client.post("/integrations/itglue/organizations", data={
            "all_matching": "1", "bulk_employee_count": "11-50", "bulk_industry": "Legal"})  # fmt: skip
        started = time.perf_counter()
        response = client.post("/integrations/itglue/imports", data={"all_matching": "1"})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        answered = time.perf_counter() - started
        integration = Integration.get(Integration.partner == partner)
        rows = ITGlueOrganization.select().where(ITGlueOrganization.integration == integration)
        wait(lambda: not rows.where(ITGlueOrganization.status == "pending").exists(), 1800)
        elapsed = time.perf_counter() - started
        imported = rows.where(ITGlueOrganization.status == "imported").count()
        domains = MonitoredDomain.select().where(MonitoredDomain.partner == partner).count()
        print(f"run {run + 1}: {elapsed:.2f} s ({answered:.2f} s until the Import request answered), "
              f"{imported} of {rows.count()} imported, {domains} monitored domains")  # fmt: skip
    return elapsed


def wait(predicate, timeout):
    deadline = time.monotonic() + timeout
    while True:
        with db.connection_context():
            if predicate():
                return
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.2)


if __name__ == "__main__":
    main()
