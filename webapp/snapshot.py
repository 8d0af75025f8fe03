"""Storing a load of IT Glue organizations and domains as the integration's snapshot."""

from webapp import domains
from webapp.db import db
from webapp.models import ITGlueDomain, ITGlueOrganization

BATCH = 500


def store(integration, load_number, organizations, itglue_domains):
    """Upsert the load in short batches, remember renames, and drop what IT Glue no longer has."""
    for batch in _chunks(organizations, BATCH):
        with db.atomic():
            ids = [o.id for o in batch]
            known = dict(
                ITGlueOrganization.select(ITGlueOrganization.itglue_id, ITGlueOrganization.name)
                .where(
                    ITGlueOrganization.integration == integration,
                    ITGlueOrganization.itglue_id.in_(ids),
                )
                .tuples()
            )
            rows = [_organization_row(integration, load_number, o, known.get(o.id)) for o in batch]
            ITGlueOrganization.insert_many(rows).on_conflict(
                conflict_target=[ITGlueOrganization.integration, ITGlueOrganization.itglue_id],
                preserve=[
                    ITGlueOrganization.name,
                    ITGlueOrganization.search_name,
                    ITGlueOrganization.type_name,
                    ITGlueOrganization.status_name,
                    ITGlueOrganization.seen_load,
                    ITGlueOrganization.previous_name,
                ],
            ).execute()
    row_ids = dict(
        ITGlueOrganization.select(ITGlueOrganization.itglue_id, ITGlueOrganization.id)
        .where(ITGlueOrganization.integration == integration)
        .tuples()
    )
    known_domains = [d for d in itglue_domains if d.organization_id in row_ids]
    for batch in _chunks(known_domains, BATCH):
        with db.atomic():
            rows = [_domain_row(integration, load_number, d, row_ids) for d in batch]
            ITGlueDomain.insert_many(rows).on_conflict(
                conflict_target=[ITGlueDomain.integration, ITGlueDomain.itglue_id],
                preserve=[
                    ITGlueDomain.organization,
                    ITGlueDomain.raw_name,
                    ITGlueDomain.name,
                    ITGlueDomain.seen_load,
                ],
            ).execute()
    with db.atomic():
        ITGlueDomain.delete().where(
            ITGlueDomain.integration == integration, ITGlueDomain.seen_load < load_number
        ).execute()
        ITGlueOrganization.delete().where(
            ITGlueOrganization.integration == integration,
            ITGlueOrganization.seen_load < load_number,
        ).execute()


def _organization_row(integration, load_number, organization, known_name):
    name = organization.name[:255] or f"IT Glue organization {organization.id}"
    renamed = known_name is not None and known_name != name
    return {
        "integration": integration,
        "itglue_id": organization.id,
        "name": name,
        "search_name": name.casefold()[:255],
        "type_name": (organization.type_name or "")[:100] or None,
        "status_name": (organization.status_name or "")[:100] or None,
        "first_load": load_number,
        "seen_load": load_number,
        "previous_name": known_name if renamed else None,
    }


def _domain_row(integration, load_number, domain, row_ids):
    try:
        name = domains.normalise(domain.name)
    except domains.InvalidDomain:
        name = None
    return {
        "integration": integration,
        "organization": row_ids[domain.organization_id],
        "itglue_id": domain.id,
        "raw_name": domain.name[:255],
        "name": name,
        "first_load": load_number,
        "seen_load": load_number,
    }


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]
