"""The production shape: gunicorn with several web workers, PostgreSQL, Redis, rq workers."""

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from helpers import SERVICE_DATABASE, SERVICE_REDIS, service_env, wait_for

from webapp.models import Integration, ITGlueOrganization, MonitoredDomain

pytestmark = pytest.mark.skipif(
    not (SERVICE_DATABASE and SERVICE_REDIS), reason="needs PostgreSQL and Redis (pass 2)"
)
ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(app, sandbox, workers):
    port = free_port()
    env = service_env(sandbox)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", "3", "-b", f"127.0.0.1:{port}",
         "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + "/login", timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(process.stderr.read().decode()[-2000:]) from None
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(10)


def token(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_gunicorn_web_workers_and_rq_workers_run_the_flow(gunicorn, admin, sandbox):
    with httpx.Client(base_url=gunicorn, follow_redirects=True, timeout=30) as browser:
        page = browser.get("/login").text
        page = browser.post("/login", data={"email": admin.email, "password": "correct horse battery",
                                            "csrf_token": token(page)}).text  # fmt: skip
        assert "IT Glue Integration" in page
        page = browser.post("/integrations/itglue", data={
            "api_key": sandbox.keys["us"], "region": "us", "csrf_token": token(page)}).text  # fmt: skip
        wait_for(lambda: Integration.get().load_state == "loaded", timeout=60)
        rows = list(ITGlueOrganization.select().order_by(ITGlueOrganization.id).limit(3))
        page = browser.get("/my-organization").text
        data = {"selected": [str(r.id) for r in rows], "csrf_token": token(page)}
        for r in rows:
            data |= {f"employee_count-{r.id}": "1-10", f"industry-{r.id}": "Retail"}
        page = browser.post("/integrations/itglue/imports", data=data).text
        assert "Import started" in page
        wait_for(lambda: not ITGlueOrganization.select().where(
            ITGlueOrganization.status == "pending").exists(), timeout=60)  # fmt: skip
        statuses = [r.status for r in ITGlueOrganization.select().where(
            ITGlueOrganization.id.in_([r.id for r in rows]))]  # fmt: skip
        assert set(statuses) <= {"imported", "unimported"} and "imported" in statuses
        assert MonitoredDomain.select().count() > 0
        # Without a CSRF token, a state change from any web worker is refused.
        refused = browser.post("/integrations/itglue/refresh", data={})
        assert refused.status_code == 400
