"""Helpers shared by the test modules: arranging partners and users, signing in, waiting."""

import os
import time

from webapp.crypto import generate_master_key
from webapp.models import Partner, User

PASSWORD = "correct horse battery"
# The second pass of `make test` sets these; unset means SQLite and the embedded queue.
SERVICE_DATABASE = os.environ.get("DATABASE_URL", "")
SERVICE_REDIS = os.environ.get("REDIS_URL", "")
MASTER_KEY = generate_master_key()


def make_partner(name="Acme MSP", licenses=10):
    return Partner.create(name=name, domain_licenses=licenses)


def make_user(email, partner=None, role="admin", integration_access=False, password=PASSWORD):
    user = User(email=email, partner=partner, role=role, integration_access=integration_access)
    user.set_password(password)
    user.save()
    return user


def login(client, email, password=PASSWORD):
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def wait_for(predicate, timeout=30, interval=0.1):
    """Poll `predicate` until it returns something truthy, failing the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def service_env(sandbox):
    """The environment of a separate web or worker process in the service-backed pass."""
    return dict(
        os.environ,
        DATABASE_URL=SERVICE_DATABASE,
        REDIS_URL=SERVICE_REDIS,
        ENCRYPTION_KEY=MASTER_KEY,
        SECRET_KEY="test-secret",
        SUPPORT_EMAIL="support@example.test",
        **{f"ITGLUE_URL_{region.upper()}": url for region, url in sandbox.urls.items()},
    )
