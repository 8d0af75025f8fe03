"""The partner's own pages: My Organization (with the IT Glue tile) and the Organizations list."""

from flask import Blueprint, abort, g, render_template, request
from peewee import JOIN, prefetch

from webapp.auth import partner_required
from webapp.models import ITGlueOrganization, MonitoredDomain, Organization, OrganizationLink

bp = Blueprint("organizations", __name__)

PAGE_SIZE = 50


@bp.get("/my-organization")
@partner_required
def mine():
    from webapp.integrations import render_tile

    return render_tile()


@bp.get("/organizations")
@partner_required
def index():
    page = request.args.get("page", "1")
    page = int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 100_000 else 1
    query = Organization.for_partner(g.partner).order_by(Organization.name, Organization.id)
    total = query.count()
    organizations = prefetch(
        query.paginate(page, PAGE_SIZE),
        MonitoredDomain.select().order_by(MonitoredDomain.name),
    )
    return render_template(
        "organizations/index.html",
        organizations=organizations,
        itglue=itglue_links(organizations),
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        licenses_used=g.partner.licenses_used(),
    )


@bp.get("/organizations/<int(max=2147483647):organization_id>")
@partner_required
def show(organization_id):
    organization = Organization.for_partner(g.partner).where(Organization.id == organization_id)
    organization = organization.get_or_none() or abort(404)
    domains = organization.domains.order_by(MonitoredDomain.name)
    return render_template("organizations/show.html", organization=organization, domains=domains)


def itglue_links(organizations):
    """The IT Glue organization each of these organizations is linked to, by organization id."""
    ids = [org.id for org in organizations]
    if not ids:
        return {}
    query = (
        OrganizationLink.select(OrganizationLink.organization, ITGlueOrganization.name,
                                OrganizationLink.itglue_id)
        .join(ITGlueOrganization, JOIN.LEFT_OUTER, on=(
            (ITGlueOrganization.integration == OrganizationLink.integration)
            & (ITGlueOrganization.itglue_id == OrganizationLink.itglue_id)))
        .where(OrganizationLink.organization.in_(ids))
        .tuples()
    )  # fmt: skip
    return {
        org_id: name or f"IT Glue organization {itglue_id}" for org_id, name, itglue_id in query
    }
