"""The integration end to end through HTTP: connect, load, import, statuses, retry, delete."""

from helpers import wait_for

from webapp.models import Integration, ITGlueOrganization, MonitoredDomain, Organization


def connect(client, sandbox, region="us", key=None):
    return client.post(
        "/integrations/itglue",
        data={"api_key": key or sandbox.keys[region], "region": region},
    )


def loaded(client):
    def check():
        integration = Integration.get_or_none()
        return integration if integration and integration.load_state == "loaded" else None

    return wait_for(check, timeout=60)


def test_connect_load_and_see_the_table(admin_client, sandbox, workers):
    response = connect(admin_client, sandbox)
    assert response.status_code == 302, response.get_data(as_text=True)
    integration = loaded(admin_client)
    assert integration.key_hint == sandbox.keys["us"][-4:]
    assert sandbox.keys["us"] not in integration.encrypted_key
    page = admin_client.get("/my-organization").get_data(as_text=True)
    assert "Connected to IT Glue, United States region" in page
    assert "Employee Count" in page and "Industry" in page and "Status" in page
    assert sandbox.keys["us"] not in page
    assert ITGlueOrganization.select().count() == 40


def test_invalid_key_saves_nothing(admin_client, sandbox):
    response = connect(admin_client, sandbox, key="ITG.00000000000000000000000000000000")
    assert response.status_code == 422
    assert "Invalid API key for the United States region" in response.get_data(as_text=True)
    assert Integration.select().count() == 0


def test_wrong_region_key_names_its_region(admin_client, sandbox):
    response = connect(admin_client, sandbox, region="us", key=sandbox.keys["eu"])
    assert response.status_code == 422
    assert "This key belongs to the Europe region" in response.get_data(as_text=True)
    assert Integration.select().count() == 0


def test_import_selected_rows(admin_client, sandbox, workers):
    connect(admin_client, sandbox)
    loaded(admin_client)
    rows = list(ITGlueOrganization.select().order_by(ITGlueOrganization.id).limit(5))
    data = {"selected": [str(r.id) for r in rows]}
    missing = admin_client.post("/integrations/itglue/imports", data=data)
    assert missing.status_code == 422
    assert "Employee Count and Industry are required" in missing.get_data(as_text=True)
    assert ITGlueOrganization.select().where(ITGlueOrganization.status.is_null(False)).count() == 0
    for r in rows:
        data[f"employee_count-{r.id}"] = "11-50"
        data[f"industry-{r.id}"] = "Legal"
    started = admin_client.post("/integrations/itglue/imports", data=data)
    assert started.status_code == 302
    page = admin_client.get(started.headers["Location"]).get_data(as_text=True)
    assert "Import started" in page

    def finished():
        return (
            not ITGlueOrganization.select().where(ITGlueOrganization.status == "pending").exists()
        )

    wait_for(finished, timeout=60)
    statuses = {
        r.name: (r.status, r.outcome)
        for r in ITGlueOrganization.select().where(ITGlueOrganization.id.in_([r.id for r in rows]))
    }
    print(statuses)
    assert all(s in ("imported", "unimported") for s, _ in statuses.values())
    assert Organization.select().count() == 5
    print(list(MonitoredDomain.select().tuples()))
