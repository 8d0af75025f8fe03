"""Conformance of the IT Glue sandbox with the reference description of the real API."""

import re
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from itglue_helpers import serve, small_sandbox, state, wsgi_client

from webapp.itglue.sandbox.app import create_sandbox, sandbox_keys
from webapp.itglue.sandbox.data import generate_account, generate_accounts, sandbox_keys_for_seed

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ORG_ATTRIBUTES = {
    "name",
    "alert",
    "description",
    "organization-type-id",
    "organization-type-name",
    "organization-status-id",
    "organization-status-name",
    "primary",
    "logo",
    "quick-notes",
    "short-name",
    "created-at",
    "updated-at",
    "parent-id",
    "ancestor-ids",
}
DOMAIN_ATTRIBUTES = {
    "organization-id",
    "organization-name",
    "resource-url",
    "name",
    "screenshot",
    "registrar-name",
    "notes",
    "expires-on",
    "created-at",
    "updated-at",
}
LOOKUPS = [
    "manufacturers",
    "organizations",
    "configuration_statuses",
    "configuration_types",
    "contact_types",
    "countries",
    "flexible_asset_types",
    "operating_systems",
    "organization_types",
    "organization_statuses",
    "password_categories",
    "regions",
    "models",
]


@pytest.fixture(scope="module")
def sandbox():
    """One 120-organization sandbox shared by the read-only tests of this module."""
    return create_sandbox(orgs=120, domains_per_org=2)


@pytest.fixture
def http(sandbox):
    """A US client for the shared sandbox."""
    with wsgi_client(sandbox) as client:
        yield client


def test_organizations_index_has_the_real_shape(http):
    response = http.get("/organizations")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.api+json"
    body = response.json()
    assert set(body) == {"data", "meta", "links"}
    for record in body["data"]:
        assert set(record) == {"id", "type", "attributes", "relationships"}
        assert record["type"] == "organizations"
        assert isinstance(record["id"], str) and record["id"].isdigit()
        assert record["relationships"] == {}
        attributes = record["attributes"]
        assert set(attributes) == ORG_ATTRIBUTES
        assert isinstance(attributes["organization-type-id"], int)
        assert isinstance(attributes["organization-status-id"], int)
        assert TIMESTAMP.match(attributes["created-at"])
        assert TIMESTAMP.match(attributes["updated-at"])
        assert isinstance(attributes["primary"], bool)


def test_domains_index_has_the_real_shape(http):
    body = http.get("/domains", params={"page[size]": 1000}).json()
    assert body["data"]
    for record in body["data"]:
        assert record["type"] == "domains"
        assert isinstance(record["id"], str)
        assert set(record["attributes"]) == DOMAIN_ATTRIBUTES
        attributes = record["attributes"]
        assert isinstance(attributes["organization-id"], int)
        assert TIMESTAMP.match(attributes["expires-on"])
        assert attributes["resource-url"].startswith("https://")
        assert attributes["resource-url"].endswith(f"/domains/{record['id']}")


def test_default_page_is_50_with_meta_and_no_prev(http):
    body = http.get("/organizations").json()
    assert len(body["data"]) == 50
    assert body["meta"] == {
        "current-page": 1,
        "next-page": 2,
        "prev-page": None,
        "total-pages": 3,
        "total-count": 120,
        "filters": {},
    }
    assert "prev" not in body["links"]
    assert set(body["links"]) == {"self", "first", "next", "last"}


def test_last_page_leaves_next_out(http):
    body = http.get("/organizations", params={"page[number]": 3}).json()
    assert len(body["data"]) == 20
    assert body["meta"]["next-page"] is None
    assert body["meta"]["prev-page"] == 2
    assert "next" not in body["links"]
    assert set(body["links"]) == {"self", "first", "prev", "last"}


def test_page_past_the_end_is_an_empty_200(http):
    response = http.get("/organizations", params={"page[number]": 9})
    assert response.status_code == 200
    assert response.json()["data"] == []
    assert response.json()["meta"]["total-count"] == 120


def test_page_size_over_1000_is_clamped_to_1000():
    app = create_sandbox(orgs=1100, domains_per_org=0)
    with wsgi_client(app) as http:
        body = http.get("/organizations", params={"page[size]": 5000}).json()
    assert len(body["data"]) == 1000
    assert body["meta"]["total-pages"] == 2
    assert "page%5Bsize%5D=1000" in body["links"]["next"]


def test_links_are_absolute_from_the_request_host_and_keep_the_query(sandbox):
    with wsgi_client(sandbox, region="eu", root="http://portal-sandbox.internal:8081") as http:
        params = {"sort": "-name", "filter[organization_status_id]": "", "page[size]": 5}
        links = http.get("/organizations", params=params).json()["links"]
    for link in links.values():
        assert link.startswith("http://portal-sandbox.internal:8081/eu/organizations?")
        assert "api.itglue.com" not in link
    query = parse_qs(urlsplit(links["next"]).query, keep_blank_values=True)
    assert query["sort"] == ["-name"]
    assert query["filter[organization_status_id]"] == [""]
    assert query["page[number]"] == ["2"]
    assert query["page[size]"] == ["5"]


def test_raw_and_percent_encoded_brackets_mean_the_same(http):
    raw = http.get("/organizations?page[size]=7&page[number]=2").json()
    encoded = http.get("/organizations?page%5Bsize%5D=7&page%5Bnumber%5D=2").json()
    assert raw["data"] == encoded["data"]
    assert len(raw["data"]) == 7
    assert raw["meta"]["current-page"] == 2


def test_a_get_needs_no_content_type(http):
    response = http.get("/organizations")
    assert "content-type" not in response.request.headers
    assert response.status_code == 200


@pytest.mark.parametrize("key", ["", "ITG.0123456789abcdef0123456789abcdef", "eu-key"])
def test_missing_unknown_or_other_region_key_is_forbidden(sandbox, key):
    if key == "eu-key":
        key = sandbox_keys(sandbox)["eu"]
    with wsgi_client(sandbox, key=key) as http:
        response = http.get("/organizations")
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


def test_each_region_has_its_own_key_and_data(sandbox):
    keys = sandbox_keys(sandbox)
    assert set(keys) == {"us", "eu", "au"}
    assert len(set(keys.values())) == 3
    assert all(re.fullmatch(r"ITG\.[0-9a-f]{32}", key) for key in keys.values())
    for region in ("eu", "au"):
        with wsgi_client(sandbox, region=region) as http:
            body = http.get("/organizations", params={"page[size]": 1000}).json()
        assert body["meta"]["total-count"] == 25
        assert all(len(record["id"]) == 16 for record in body["data"])
        assert all(record["attributes"]["organization-type-id"] > 2**53 for record in body["data"])


def test_ip_allowlist_forbids_other_addresses():
    app = small_sandbox(allowlist=["10.1.0.0/16", "192.0.2.7"])
    with wsgi_client(app) as http:
        blocked = http.get("/organizations", headers={"X-Sandbox-Client-IP": "203.0.113.9"})
        allowed = http.get("/organizations", headers={"X-Sandbox-Client-IP": "10.1.44.2"})
        single = http.get("/organizations", headers={"X-Sandbox-Client-IP": "192.0.2.7"})
        remote = http.get("/organizations")
    assert blocked.status_code == 403
    assert blocked.json() == {"message": "Forbidden"}
    assert allowed.status_code == 200
    assert single.status_code == 200
    assert remote.status_code == 403


def test_over_the_rate_limit_gives_429_with_an_integer_retry_after():
    app = small_sandbox(rate_limit=3, rate_window=300)
    with wsgi_client(app) as http:
        statuses = [http.get("/organizations").status_code for _ in range(3)]
        throttled = http.get("/organizations")
    with wsgi_client(app, region="eu") as other_account:
        assert other_account.get("/organizations").status_code == 200
    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"].isdigit()
    assert 1 <= int(throttled.headers["Retry-After"]) <= 300
    assert throttled.json()["errors"][0]["status"] == 429


def test_filters_on_organizations(http, sandbox):
    account = state(sandbox).accounts["us"]
    ids = [org["id"] for org in account.organizations[3:6]]
    by_id = http.get("/organizations", params={"filter[id]": ",".join(ids)}).json()
    assert [record["id"] for record in by_id["data"]] == ids

    by_name = http.get("/organizations", params={"filter[name]": "Acme, Inc."}).json()
    assert [record["attributes"]["name"] for record in by_name["data"]] == []
    escaped = http.get("/organizations", params={"filter[name]": "Acme\\, Inc."}).json()
    assert [record["attributes"]["name"] for record in escaped["data"]] == ["Acme, Inc."]

    vendor = next(t for t in account.organization_types if t["attributes"]["name"] == "Vendor")
    vendors = http.get(
        "/organizations", params={"filter[organization_type_id]": vendor["id"], "page[size]": 1000}
    ).json()["data"]
    assert vendors
    assert {record["attributes"]["organization-type-name"] for record in vendors} == {"Vendor"}

    inactive = next(
        s for s in account.organization_statuses if s["attributes"]["name"] == "Inactive"
    )
    rows = http.get(
        "/organizations",
        params={"filter[organization_status_id]": inactive["id"], "page[size]": 1000},
    ).json()["data"]
    assert rows
    assert {record["attributes"]["organization-status-name"] for record in rows} == {"Inactive"}


def test_filters_on_domains_and_the_nested_route(http, sandbox):
    account = state(sandbox).accounts["us"]
    org = account.organizations[4]
    expected = [domain["id"] for domain in account.domains_by_org[org["id"]]]
    filtered = http.get("/domains", params={"filter[organization_id]": org["id"]}).json()
    assert [record["id"] for record in filtered["data"]] == expected
    assert {r["attributes"]["organization-id"] for r in filtered["data"]} == {int(org["id"])}

    nested = http.get(
        f"/organizations/{org['id']}/relationships/domains", params={"filter[id]": expected[0]}
    ).json()
    assert [record["id"] for record in nested["data"]] == expected

    one = http.get("/domains", params={"filter[id]": expected[1]}).json()
    assert [record["id"] for record in one["data"]] == [expected[1]]


def test_sorting_by_snake_case_fields(http):
    params = {"sort": "name", "page[size]": 1000}
    names = [
        r["attributes"]["name"] for r in http.get("/organizations", params=params).json()["data"]
    ]
    assert names == sorted(names, key=str.casefold)

    params["sort"] = "-updated_at"
    stamps = [
        r["attributes"]["updated-at"]
        for r in http.get("/organizations", params=params).json()["data"]
    ]
    assert stamps == sorted(stamps, reverse=True)

    params["sort"] = "organization_status_name,-id"
    rows = http.get("/organizations", params=params).json()["data"]
    keys = [(r["attributes"]["organization-status-name"], -int(r["id"])) for r in rows]
    assert keys == sorted(keys)

    assert http.get("/organizations", params={"sort": "colour"}).status_code == 400


def test_unknown_route_is_the_rails_html_404(http, sandbox):
    for response in (
        http.get("/widgets"),
        wsgi_client(sandbox, region="mars", key="ITG.x").get("/organizations"),
    ):
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("text/html")
        assert "The page you were looking for doesn't exist." in response.text


def test_unknown_organization_is_a_json_404(http):
    response = http.get("/organizations/123")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/vnd.api+json"
    assert response.json()["errors"][0]["title"] == "Record not found"
    assert http.get("/organizations/123/relationships/domains").status_code == 404


def test_quick_notes_are_truncated_in_the_index_and_full_in_show(http, sandbox):
    org = state(sandbox).accounts["us"].organizations[1]
    full = org["attributes"]["quick-notes"]
    assert len(full) > 250
    listed = http.get("/organizations", params={"filter[id]": org["id"]}).json()["data"][0]
    shown = http.get(f"/organizations/{org['id']}").json()
    assert listed["attributes"]["quick-notes"] == full[:250]
    assert set(shown) == {"data"}
    assert shown["data"]["attributes"]["quick-notes"] == full


def test_lookup_routes_that_pytglue_preloads_all_answer(http):
    for route in LOOKUPS:
        response = http.get(f"/{route}", params={"sort": "name", "page[size]": 1000})
        assert response.status_code == 200, route
        assert isinstance(response.json()["data"], list)
    types = http.get("/organization_types").json()["data"]
    assert {t["attributes"]["name"] for t in types} >= {"Customer", "Vendor", "Owner"}
    assert {t["type"] for t in types} == {"organization-types"}
    statuses = http.get("/organization_statuses").json()["data"]
    assert {s["attributes"]["name"] for s in statuses} >= {"Active", "Inactive"}
    assert {s["type"] for s in statuses} == {"organization-statuses"}


def test_data_is_deterministic_for_a_seed():
    first = generate_accounts(orgs=300, domains_per_org=3, seed=7)
    again = generate_accounts(orgs=300, domains_per_org=3, seed=7)
    other = generate_accounts(orgs=300, domains_per_org=3, seed=8)
    for region in ("us", "eu", "au"):
        assert first[region].organizations == again[region].organizations
        assert first[region].domains == again[region].domains
        assert first[region].key == again[region].key != other[region].key
    assert first["us"].domains != other["us"].domains
    assert sandbox_keys_for_seed(7) == {region: first[region].key for region in first}


def test_hard_cases_are_present_even_in_a_tiny_account():
    account = generate_account("us", orgs=20, domains_per_org=2, seed=3)
    names = [org["attributes"]["name"] for org in account.organizations]
    domains = [domain["attributes"]["name"] for domain in account.domains]
    for domain in [
        "springfield.gov",
        "council.gov.uk",
        "health.gov.au",
        "gmail.com",
        "outlook.com",
        "smtp.gmail.com",
        "intranet",
        "192.168.1.10",
        "*.wildcard.example",
        "admin@company.example",
        "exa mple.com",
        "Contoso-Example.COM",
        "contoso-example.com.",
        "https://www.Fabrikam-Example.com/contact",
        "bücher-example.de",
    ]:
        assert domain in domains
    assert domains.count("shared-example.com") == 2
    for name in [
        '<b>Bold</b> & "Quoted" O\'Brien LLC',
        "<script>alert(1)</script> Ltd",
        "株式会社テスト",
        "Müller Bäckerei GmbH",
        "Ωmega Σystems",
        "Acme, Inc.",
        "ACME Inc",
    ]:
        assert name in names
    assert any(len(name) >= 240 for name in names)
    assert any(org["id"] not in account.domains_by_org for org in account.organizations)
    owners = [org for org in account.organizations if org["attributes"]["primary"]]
    assert len(owners) == 1
    assert owners[0]["attributes"]["organization-type-name"] == "Owner"


def test_generator_scales_to_10000_organizations_and_50000_domains():
    started = time.perf_counter()
    account = generate_account("us", orgs=10_000, domains_per_org=5, seed=1)
    elapsed = time.perf_counter() - started
    assert len(account.organizations) == 10_000
    assert len(account.domains) == 50_000
    assert len({org["id"] for org in account.organizations}) == 10_000
    assert elapsed < 3.0  # about 0.5 s per account here; generous for slow CI machines
    statuses = [org["attributes"]["organization-status-name"] for org in account.organizations]
    assert 0.05 < statuses.count("Inactive") / len(statuses) < 0.15
    types = [org["attributes"]["organization-type-name"] for org in account.organizations]
    assert types.count("Vendor") > 100


def test_fault_and_stats_control_routes():
    app = small_sandbox()
    with wsgi_client(app) as http:
        control = http.post(
            "http://sandbox.test/_sandbox/faults",
            json={"add": [{"kind": "status", "status": 502, "count": 1}], "latency_ms": 0},
        )
        assert control.status_code == 200
        assert http.get("/organizations").status_code == 502
        assert http.get("/organizations").status_code == 200
        stats = http.get("http://sandbox.test/_sandbox/stats").json()
        assert stats["regions"]["us"]["/organizations"] == 2
        assert stats["statuses"]["502"] == 1
        http.post("http://sandbox.test/_sandbox/reset")
        assert http.get("http://sandbox.test/_sandbox/stats").json()["total"] == 0
        assert http.post("http://sandbox.test/_sandbox/faults", json=[1]).status_code == 400


def test_a_page_fails_once_then_serves():
    app = small_sandbox()
    state(app).add_fault("fail_once", path="/organizations", page=2)
    with wsgi_client(app) as http:
        assert http.get("/organizations", params={"page[number]": 1}).status_code == 200
        assert http.get("/organizations", params={"page[number]": 2}).status_code == 500
        assert http.get("/organizations", params={"page[number]": 2}).status_code == 200


def test_command_prints_each_region_and_serves():
    with serve(small_sandbox()) as root:
        port = int(root.rsplit(":", 1)[1])
    # The port was just freed by the server above; a fresh one is needed for the subprocess.
    command = [sys.executable, "-m", "webapp.itglue.sandbox.cli", "--port", str(port)]
    process = subprocess.Popen(command + ["--orgs", "30"], stdout=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("United States")
        assert f"http://127.0.0.1:{port}/us" in lines[0]
        assert lines[1].startswith("Europe") and lines[2].startswith("Australia")
        key = lines[0].split("key ")[1].strip()
        assert key == sandbox_keys_for_seed(1)["us"]
        deadline = time.monotonic() + 10
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/us/organizations", headers={"x-api-key": key}
                )
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert response.status_code == 200
        assert response.json()["meta"]["total-count"] == 30
    finally:
        process.terminate()
        process.wait(timeout=10)
