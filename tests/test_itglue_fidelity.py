"""A public SDK (py-itglue 0.2.6), unchanged, loads everything from the sandbox over real HTTP."""

import pytest
from itglue_helpers import serve, state

from webapp.itglue.sandbox.app import create_sandbox, sandbox_keys

itglue_sdk = pytest.importorskip("itglue")
from itglue import ITGlueClient  # noqa: E402
from itglue.config import ITGlueConfig  # noqa: E402


@pytest.fixture(scope="module")
def served():
    """A 2,345-organization sandbox served on a loopback port for the whole module."""
    app = create_sandbox(orgs=2345, domains_per_org=3, seed=5)
    with serve(app) as root:
        yield app, root


def sdk_client(app, root, region="us"):
    """Build py-itglue's client exactly as its README says, pointed at a sandbox region."""
    config = ITGlueConfig(
        api_key=sandbox_keys(app)[region], base_url=f"{root}/{region}", enable_caching=False
    )
    return ITGlueClient(config)


def ids_of(app, kind, region="us"):
    """Return the sandbox's own ids for organizations or domains."""
    return [record["id"] for record in getattr(state(app).accounts[region], kind)]


def test_sdk_iterates_every_organization_and_domain_at_page_size_1000(served):
    app, root = served
    client = sdk_client(app, root)
    organizations = list(client.iterate_resources("/organizations", page_size=1000))
    domains = list(client.iterate_resources("/domains", page_size=1000))
    assert [record["id"] for record in organizations] == ids_of(app, "organizations")
    assert [record["id"] for record in domains] == ids_of(app, "domains")
    assert len(domains) == 2345 * 3


def test_sdk_default_page_size_walks_every_page(served):
    app, root = served
    client = sdk_client(app, root, region="eu")
    organizations = list(client.iterate_resources("/organizations", page_size=10))
    assert [record["id"] for record in organizations] == ids_of(app, "organizations", "eu")
    domains = list(client.iterate_resources("/domains"))
    assert [record["id"] for record in domains] == ids_of(app, "domains", "eu")


def test_sdk_models_accept_the_sandbox_shapes(served):
    app, root = served
    client = sdk_client(app, root)
    page = client.organizations.list(per_page=100)
    assert len(page) == 100
    first_id = ids_of(app, "organizations")[0]
    organization = client.organizations.get(first_id)
    assert str(organization.id) == first_id


def test_sdk_reports_a_wrong_region_key_as_an_auth_error(served):
    app, root = served
    config = ITGlueConfig(api_key=sandbox_keys(app)["au"], base_url=f"{root}/us")
    with pytest.raises(itglue_sdk.exceptions.ITGlueAuthError):
        list(ITGlueClient(config).iterate_resources("/organizations", page_size=1000))
