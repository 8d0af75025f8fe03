"""The IT Glue client against the sandbox: complete loads, retries, refusals and key safety."""

import math
import time

import httpx
import pytest
from itglue_helpers import region_urls, serve, small_sandbox, state

from webapp.itglue import client as itglue
from webapp.itglue.sandbox.app import create_sandbox, sandbox_keys


class Sleeps:
    """Records requested waits instead of sleeping, so retry tests run instantly."""

    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


def open_sandbox_client(app, region="us", *, key=None, root="http://sandbox.test", **options):
    """Open our client on a sandbox region through the in-process WSGI transport."""
    options.setdefault("base_delay", 0.001)
    if root == "http://sandbox.test":
        options.setdefault("transport", httpx.WSGITransport(app=app))
    return itglue.open_client(f"{root}/{region}", key or sandbox_keys(app)[region], **options)


def expected_ids(app, kind, region="us"):
    """Return the ids the sandbox holds for organizations or domains."""
    account = state(app).accounts[region]
    return [record["id"] for record in getattr(account, kind)]


def requests_to(app, route, region="us"):
    """Return how many requests the sandbox saw on one region's route."""
    return state(app).stats()["regions"].get(region, {}).get(route, 0)


def test_a_full_load_makes_the_minimum_number_of_requests():
    app = create_sandbox(orgs=2500, domains_per_org=2)
    progress = []
    with open_sandbox_client(app) as client:
        organizations = itglue.fetch_organizations(client, progress=lambda *p: progress.append(p))
        domains = itglue.fetch_domains(client)
    assert [org.id for org in organizations] == expected_ids(app, "organizations")
    assert [domain.id for domain in domains] == expected_ids(app, "domains")
    assert requests_to(app, "/organizations") == math.ceil(2500 / 1000)
    assert requests_to(app, "/domains") == math.ceil(5000 / 1000)
    assert state(app).stats()["total"] == 3 + 5
    assert sorted(progress) == [(1, 3, 2500), (2, 3, 2500), (3, 3, 2500)]


def test_records_are_parsed_with_string_ids_and_names():
    app = small_sandbox()
    with open_sandbox_client(app, "eu") as client:
        organizations = itglue.fetch_organizations(client)
        domains = itglue.fetch_domains(client)
        types = itglue.fetch_organization_types(client)
        statuses = itglue.fetch_organization_statuses(client)
    org_ids = {org.id for org in organizations}
    assert all(len(org.id) == 16 for org in organizations)
    assert all(domain.organization_id in org_ids for domain in domains)
    assert isinstance(domains[0].organization_id, str) and int(domains[0].organization_id) > 2**53
    owner = next(org for org in organizations if org.type_name == "Owner")
    assert owner.type_id in {int(t.id) for t in types if t.name == "Owner"}
    assert {s.name for s in statuses} >= {"Active", "Inactive"}
    assert organizations[1].updated_at.endswith("Z")


def test_rate_limit_with_retry_after_is_honoured():
    app = small_sandbox()
    state(app).add_fault("rate_limit", count=2, retry_after=7)
    sleeps = Sleeps()
    with open_sandbox_client(app, sleep=sleeps) as client:
        organizations = itglue.fetch_organizations(client)
    assert len(organizations) == 60
    assert sleeps.calls == [7, 7]
    assert state(app).stats()["statuses"]["429"] == 2


def test_rate_limit_retry_after_really_waits():
    app = small_sandbox()
    state(app).add_fault("rate_limit", count=1, retry_after=1)
    started = time.monotonic()
    with open_sandbox_client(app) as client:
        assert len(itglue.fetch_organizations(client)) == 60
    assert time.monotonic() - started >= 1.0


def test_rate_limit_without_retry_after_backs_off_exponentially():
    app = small_sandbox()
    state(app).add_fault("rate_limit", count=3, retry_after=None)
    sleeps = Sleeps()
    with open_sandbox_client(app, sleep=sleeps, base_delay=0.2) as client:
        assert len(itglue.fetch_organizations(client)) == 60
    assert len(sleeps.calls) == 3
    for attempt, delay in enumerate(sleeps.calls, start=1):
        ceiling = 0.2 * 2 ** (attempt - 1)
        assert ceiling / 2 <= delay <= ceiling


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_then_succeed(status):
    app = small_sandbox()
    state(app).add_fault("status", status=status, count=2, path="/domains")
    with open_sandbox_client(app) as client:
        domains = itglue.fetch_domains(client)
    assert [domain.id for domain in domains] == expected_ids(app, "domains")
    assert state(app).stats()["statuses"][str(status)] == 2


def test_a_page_that_fails_once_leaves_no_gap_and_no_duplicate():
    app = create_sandbox(orgs=4200, domains_per_org=1)
    state(app).add_fault("fail_once", path="/organizations", page=3)
    state(app).add_fault("fail_once", path="/domains", page=1)
    with open_sandbox_client(app) as client:
        organizations = itglue.fetch_organizations(client)
        domains = itglue.fetch_domains(client)
    assert [org.id for org in organizations] == expected_ids(app, "organizations")
    assert [domain.id for domain in domains] == expected_ids(app, "domains")
    assert requests_to(app, "/organizations") == 5 + 1
    assert requests_to(app, "/domains") == 5 + 1


def test_persistent_server_errors_raise_unavailable_after_a_few_attempts():
    app = small_sandbox()
    state(app).add_fault("status", status=503)
    with open_sandbox_client(app, max_attempts=4) as client:
        with pytest.raises(itglue.Unavailable, match="HTTP 503"):
            itglue.fetch_organizations(client)
    assert requests_to(app, "/organizations") == 4


def test_client_errors_are_not_retried():
    app = small_sandbox()
    with open_sandbox_client(app) as client:
        with pytest.raises(itglue.BadResponse, match="HTML error page") as raised:
            itglue.request_json(client, "/widgets")
        assert raised.value.status == 404
        with pytest.raises(itglue.BadResponse, match="Invalid sort field"):
            itglue.request_json(client, "/organizations", params={"sort": "colour"})
        assert itglue.fetch_organization(client, "42") is None
        found = itglue.fetch_organization(client, expected_ids(app, "organizations")[2])
    assert found.name == "Outback Health Clinic"
    assert state(app).stats()["total"] == 4


def test_a_slow_response_is_retried_after_a_timeout():
    app = small_sandbox()
    state(app).add_fault("slow", ms=1500, count=1)
    with serve(app) as root:
        timeout = httpx.Timeout(0.3, connect=2.0)
        with open_sandbox_client(app, root=root, timeout=timeout) as client:
            organizations = itglue.fetch_organizations(client)
    assert len(organizations) == 60
    assert requests_to(app, "/organizations") == 2


def test_responses_that_keep_timing_out_raise_unavailable():
    app = small_sandbox()
    state(app).add_fault("slow", ms=800)
    with serve(app) as root:
        timeout = httpx.Timeout(0.2, connect=2.0)
        with open_sandbox_client(app, root=root, timeout=timeout, max_attempts=3) as client:
            with pytest.raises(itglue.Unavailable, match="timed out"):
                itglue.fetch_organizations(client)
    assert requests_to(app, "/organizations") == 3


def test_a_refused_key_mid_load_raises_invalid_key():
    app = create_sandbox(orgs=3500, domains_per_org=0)

    def block_after_first_page(done, total, count):
        # IP Access Control switched on by an admin while we load.
        state(app).allowlist = ["10.9.9.9"]

    with open_sandbox_client(app) as client:
        with pytest.raises(itglue.InvalidKey, match="IP Access Control"):
            itglue.fetch_organizations(client, progress=block_after_first_page)
    assert state(app).stats()["statuses"]["403"] >= 1
    assert state(app).stats()["statuses"]["200"] == 1


def test_a_401_is_an_invalid_key_too():
    app = small_sandbox()
    state(app).invalid_key_status = 401
    with open_sandbox_client(app, key="ITG." + "0" * 32) as client:
        with pytest.raises(itglue.InvalidKey):
            itglue.fetch_domains(client)
    assert state(app).stats()["total"] == 1


def test_check_key_accepts_a_valid_key():
    app = small_sandbox()
    transport = httpx.WSGITransport(app=app)
    result = itglue.check_key(region_urls(), "au", sandbox_keys(app)["au"], transport=transport)
    assert result == itglue.KeyCheck(ok=True)
    assert state(app).stats()["total"] == 1


def test_check_key_explains_an_invalid_key():
    app = small_sandbox()
    transport = httpx.WSGITransport(app=app)
    result = itglue.check_key(region_urls(), "us", "ITG." + "f" * 32, transport=transport)
    assert not result.ok
    assert result.problem == "invalid"
    assert result.belongs_to is None
    assert result.message == (
        "Invalid API key for the United States region. Check that the key was copied in full, "
        "has not been revoked, and that IT Glue's IP Access Control allows this portal's address."
    )
    assert state(app).stats()["total"] == 3


def test_check_key_names_the_region_a_key_belongs_to():
    app = small_sandbox()
    transport = httpx.WSGITransport(app=app)
    result = itglue.check_key(region_urls(), "us", sandbox_keys(app)["eu"], transport=transport)
    assert not result.ok
    assert result.problem == "invalid"
    assert result.belongs_to == "eu"
    assert "This key belongs to the Europe region. Choose Europe and try again." in result.message


def test_check_key_tells_unreachable_apart_from_invalid():
    app = small_sandbox()
    state(app).add_fault("status", status=503)
    transport = httpx.WSGITransport(app=app)
    result = itglue.check_key(region_urls(), "eu", sandbox_keys(app)["eu"], transport=transport)
    assert result.problem == "unavailable"
    assert result.message == "IT Glue (Europe) could not be reached. Try again in a few minutes."

    with serve(small_sandbox()) as root:
        closed = root
    urls = {region: f"{closed}/{region}" for region in ("us", "eu", "au")}
    offline = itglue.check_key(urls, "us", sandbox_keys(app)["us"])
    assert offline.problem == "unavailable"
    assert "United States" in offline.message


@pytest.mark.parametrize(
    "bad_key", ["ITG.abc\r\nX-Injected: 1", "ITG.abc\x00", "ITG.ab c", "ITG.é", "", "\t"]
)
def test_keys_with_control_or_non_ascii_characters_are_refused_before_any_request(bad_key):
    app = small_sandbox()
    transport = httpx.WSGITransport(app=app)
    result = itglue.check_key(region_urls(), "us", bad_key, transport=transport)
    assert result.problem == "invalid"
    with pytest.raises(itglue.InvalidKey):
        itglue.open_client("http://sandbox.test/us", bad_key, transport=transport)
    assert state(app).stats()["total"] == 0


def test_the_key_never_appears_in_errors_or_reprs():
    app = small_sandbox()
    key = sandbox_keys(app)["us"]
    texts = []

    def capture(action):
        try:
            action()
        except Exception as error:  # every error path's text is checked
            texts.extend([str(error), repr(error), str(error.__cause__), str(error.__context__)])

    with open_sandbox_client(app, max_attempts=2) as client:
        texts += [repr(client), repr(client.headers), str(client.base_url)]
        state(app).add_fault("status", status=500, count=2)
        capture(lambda: itglue.fetch_organizations(client))
        state(app).clear_faults()
        capture(lambda: itglue.request_json(client, "/widgets"))
        capture(lambda: itglue.request_json(client, "http://elsewhere.test/us/organizations"))
        state(app).allowlist = ["10.0.0.1"]
        capture(lambda: itglue.fetch_domains(client))
    with serve(small_sandbox()) as root:
        closed = root
    with itglue.open_client(closed, key, max_attempts=1) as client:
        capture(lambda: itglue.fetch_domains(client))
    result = itglue.check_key(region_urls(closed), "us", key)
    texts += [repr(result), str(result.message)]
    assert len(texts) > 10
    assert not [text for text in texts if key in text or key[4:] in text]


def test_a_url_on_another_host_is_refused_without_sending_anything():
    app = small_sandbox()
    with open_sandbox_client(app) as client:
        for url in [
            "http://evil.test/us/organizations",
            "https://sandbox.test/us/organizations",
            "http://sandbox.test:8443/us/organizations",
        ]:
            with pytest.raises(itglue.ITGlueError, match="Refused"):
                itglue.request_json(client, url)
        assert itglue.request_json(client, "http://sandbox.test/us/organizations")["data"]
    assert state(app).stats()["total"] == 1


def test_malformed_records_are_skipped_and_hostile_text_is_cleaned():
    app = small_sandbox()
    state(app).malformed_records = True
    state(app).set_hostile_org(True)
    with open_sandbox_client(app) as client:
        organizations = itglue.fetch_organizations(client)
        domains = itglue.fetch_domains(client)
    assert [org.id for org in organizations] == expected_ids(app, "organizations")
    assert len(domains) == len(expected_ids(app, "domains"))
    hostile = organizations[-1]
    assert hostile.id == "999999999"
    assert "\x00" not in hostile.name and "\n" not in hostile.name
    assert hostile.type_id is None and hostile.type_name is None
    assert hostile.short_name is None and hostile.parent_id is None


def test_the_budget_blocks_when_the_window_is_full():
    now = [0.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    budget = itglue.Budget(limit=3, window=10, clock=lambda: now[0])
    for _ in range(3):
        budget.acquire(sleep)
    assert sleeps == []
    budget.acquire(sleep)
    assert sleeps == [10]
    assert now[0] == 10


def test_pages_are_fetched_concurrently():
    app = create_sandbox(orgs=8000, domains_per_org=0, latency_ms=150)
    with serve(app) as root:
        with open_sandbox_client(app, root=root) as client:
            started = time.monotonic()
            organizations = itglue.fetch_organizations(client)
            elapsed = time.monotonic() - started
    assert len(organizations) == 8000
    # Sequential would be 8 x 150 ms = 1.2 s; page 1 then 7 pages in parallel is about 0.3 s.
    assert elapsed < 1.0
