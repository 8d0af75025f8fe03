"""Time the IT Glue table with 10,000 organizations and 50,000 domains: pages, search, filters.

    .venv/bin/python bench/table_pages.py                      # SQLite in a temporary file
    DATABASE_URL=postgresql://…/bench .venv/bin/python bench/table_pages.py   # drops and fills it

Prints the median of 5 requests for each view, through the Flask test client.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp import create_app  # noqa: E402
from webapp.crypto import generate_master_key  # noqa: E402
from webapp.db import create_tables, db, drop_tables  # noqa: E402
from webapp.models import (  # noqa: E402
    Integration,
    ITGlueDomain,
    ITGlueOrganization,
    Partner,
    ProtectedDomain,
    User,
    utcnow,
)

ORGS, DOMAINS, BATCH = 10_000, 50_000, 500
VIEWS = (
    ("My Organization, page 1 (whole page)", "/my-organization", False),
    ("table page 120 (fragment)", "/integrations/itglue/organizations?page=120", True),
    ("search by domain", "/integrations/itglue/organizations?q=company4242.example", True),
    ("search by name", "/integrations/itglue/organizations?q=company%200424", True),
    ("not imported, sorted descending", "/integrations/itglue/organizations?state=not_imported&sort=-name", True),
)  # fmt: skip


def fill():
    ProtectedDomain.seed()
    partner = Partner.create(name="Bench MSP", domain_licenses=100_000)
    user = User(email="admin@bench.test", partner=partner, role="admin", integration_access=True)
    user.set_password("bench-password")
    user.save()
    integration = Integration.create(
        partner=partner, region="us", encrypted_key="unused", key_hint="none",
        load_state="loaded", loaded_at=utcnow(), load_number=1, loaded_load=1,
    )  # fmt: skip
    with db.atomic():
        for start in range(0, ORGS, BATCH):
            ITGlueOrganization.insert_many([
                {"integration": integration, "itglue_id": str(n), "name": f"Company {n:05d}",
                 "search_name": f"company {n:05d}", "type_name": "Customer",
                 "status_name": "Active", "first_load": 1, "seen_load": 1}
                for n in range(start, start + BATCH)
            ]).execute()  # fmt: skip
    ids = dict(
        ITGlueOrganization.select(ITGlueOrganization.itglue_id, ITGlueOrganization.id).tuples()
    )
    with db.atomic():
        for start in range(0, DOMAINS, BATCH):
            ITGlueDomain.insert_many([
                {"integration": integration, "organization": ids[str(n % ORGS)],
                 "itglue_id": f"d{n}", "raw_name": f"Company{n}.example",
                 "name": f"company{n}.example", "first_load": 1, "seen_load": 1}
                for n in range(start, start + BATCH)
            ]).execute()  # fmt: skip


def main():
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/table.db"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "ENCRYPTION_KEY": generate_master_key()})  # fmt: skip
    with app.app_context(), db.connection_context():
        drop_tables()
        create_tables()
        fill()
    client = app.test_client()
    client.post("/login", data={"email": "admin@bench.test", "password": "bench-password"})
    print(f"{ORGS:,} organizations, {DOMAINS:,} domains on {url.split(':')[0]}")
    for label, path, fragment in VIEWS:
        headers = {"HX-Request": "true"} if fragment else {}
        times = []
        for _ in range(5):
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
        print(f"  {label:<40} median {statistics.median(times) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
