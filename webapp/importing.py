"""Importing IT Glue organizations: link or create the organization, then monitor its domains."""

import logging
import re
import unicodedata
from dataclasses import dataclass, field

from flask import current_app
from peewee import JOIN

from webapp import domains
from webapp.db import db, is_sqlite, write_transaction
from webapp.models import (
    IMPORTED,
    PENDING,
    UNIMPORTED,
    Integration,
    ITGlueDomain,
    ITGlueOrganization,
    MonitoredDomain,
    Organization,
    OrganizationLink,
    Partner,
    ProtectedDomain,
    utcnow,
)

log = logging.getLogger(__name__)

# Legal-form words ignored when matching names, because "Acme, Inc." and "ACME Inc" are one
# customer; exact-name matching is the most common complaint about peer products.
LEGAL_SUFFIXES = {
    "inc", "incorporated", "llc", "l l c", "ltd", "limited", "gmbh", "corp", "corporation", "co",
    "company", "plc", "llp", "lp", "pty", "pty ltd", "ag", "sa", "sarl", "bv", "nv", "srl", "spa",
    "oy", "ab", "as", "kg", "ug", "pc", "pllc", "kk",
}  # fmt: skip


def match_key(name):
    """Reduce an organization name so that case, punctuation, spacing and legal suffixes vanish."""
    words = re.findall(r"\w+", unicodedata.normalize("NFKC", name or "").casefold())
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)[:255]


def linked_organization(integration, itglue_id):
    link = (
        OrganizationLink.select(OrganizationLink, Organization)
        .join(Organization)
        .where(OrganizationLink.integration == integration, OrganizationLink.itglue_id == itglue_id)
        .first()
    )
    return link.organization if link else None


def unlinked_match(partner, name):
    """The oldest organization of the partner with a matching name that no IT Glue org links to."""
    return (
        Organization.select()
        .join(OrganizationLink, JOIN.LEFT_OUTER)
        .where(
            Organization.partner == partner,
            Organization.match_name == match_key(name),
            OrganizationLink.id.is_null(),
        )
        .order_by(Organization.id)
        .first()
    )


def monitored_names(partner, names):
    """Which of these domain names the partner monitors already, and for which organization."""
    if not names:
        return {}
    query = (
        MonitoredDomain.select(MonitoredDomain.name, Organization.id, Organization.name)
        .join(Organization)
        .where(MonitoredDomain.partner == partner, MonitoredDomain.name.in_(list(names)))
        .tuples()
    )
    return {name: (org_id, org_name) for name, org_id, org_name in query}


@dataclass
class Plan:
    """What importing one row would do (the preview) or did (the outcome)."""

    organization: Organization | None = None
    links_existing: bool = False
    outcomes: list = field(default_factory=list)  # (ITGlueDomain, name or None, reason or None)
    new_names: list = field(default_factory=list)

    @property
    def imported(self):
        return sum(1 for _, _, reason in self.outcomes if reason is None)

    @property
    def reasons(self):
        seen = []
        for _, _, reason in self.outcomes:
            if reason and reason not in seen:
                seen.append(reason)
        return seen


def plan_domains(
    partner, organization, itglue_domains, *, protected, support_email, available, monitored=None
):
    """Decide each domain's fate; `available` licenses are handed out in order.

    `monitored` maps already monitored names to (organization id, name); when not given, the
    names of these domains are looked up.
    """
    plan = Plan(organization=organization)
    verdicts = [domains.classify(d.raw_name, protected=protected, support_email=support_email)
                for d in itglue_domains]  # fmt: skip
    if monitored is None:
        monitored = monitored_names(partner, {v.name for v in verdicts if v.name and not v.reason})
    decided = {}  # the same domain twice in one import is decided, and monitored, once
    for itglue_domain, verdict in zip(itglue_domains, verdicts, strict=True):
        reason = verdict.reason
        if reason is None and verdict.name in decided:
            reason = decided[verdict.name]
        elif reason is None:
            owner = monitored.get(verdict.name)
            if owner and (organization is None or owner[0] != organization.id):
                reason = domains.already_monitored_reason(owner[1])
            elif owner is None and available <= 0:
                reason = domains.LICENSE_LIMIT
            elif owner is None:
                available -= 1
                plan.new_names.append(verdict.name)
            decided[verdict.name] = reason
        plan.outcomes.append((itglue_domain, verdict.name, reason))
    return plan


def import_organization(row_id, attempt, protected=None):
    """Import one pending row; a no-op unless the row is still pending for this attempt."""
    try:
        return _import(row_id, attempt, ProtectedDomain.names() if protected is None else protected)
    except Exception:
        log.exception("import of IT Glue organization row %s (attempt %s) failed", row_id, attempt)
        finish(row_id, attempt, UNIMPORTED, domains.ERROR)
        return UNIMPORTED


def _import(row_id, attempt, protected):
    row = (
        ITGlueOrganization.select(ITGlueOrganization, Integration)
        .join(Integration)
        .where(ITGlueOrganization.id == row_id)
        .get_or_none()
    )
    if row is None or row.status != PENDING or row.attempt != attempt:
        return None
    integration = row.integration
    support_email = current_app.config["SUPPORT_EMAIL"]
    with write_transaction():
        partner = lock_partner(integration.partner_id)
        row = ITGlueOrganization.get_by_id(row_id)
        if row.status != PENDING or row.attempt != attempt:
            return None
        organization = linked_organization(integration, row.itglue_id)
        if organization is None:
            organization = unlinked_match(partner, row.name)
            if organization is None:
                organization = Organization.create(
                    partner=partner,
                    name=row.name,
                    employee_count=row.employee_count,
                    industry=row.industry,
                )
            else:
                organization.employee_count = organization.employee_count or row.employee_count
                organization.industry = organization.industry or row.industry
                organization.save()
            OrganizationLink.create(
                integration=integration, itglue_id=row.itglue_id, organization=organization
            )
        used = MonitoredDomain.select().where(MonitoredDomain.partner == partner).count()
        itglue_domains = list(row.domains.order_by(ITGlueDomain.id))
        plan = plan_domains(
            partner,
            organization,
            itglue_domains,
            protected=protected,
            support_email=support_email,
            available=partner.domain_licenses - used,
        )
        if plan.new_names:
            MonitoredDomain.insert_many(
                [
                    {"partner": partner, "organization": organization, "name": n}
                    for n in plan.new_names
                ]  # fmt: skip
            ).execute()
        by_reason = {}
        for itglue_domain, _, reason in plan.outcomes:
            by_reason.setdefault(reason, []).append(itglue_domain.id)
        for reason, ids in by_reason.items():
            ITGlueDomain.update(outcome=UNIMPORTED if reason else IMPORTED, reason=reason).where(
                ITGlueDomain.id.in_(ids)
            ).execute()
        total = len(plan.outcomes)
        if plan.imported == total:
            status, outcome = IMPORTED, None
        else:
            status = UNIMPORTED
            outcome = f"{plan.imported} of {total} domains imported. " + " ".join(
                r if r.endswith(".") else r + "." for r in plan.reasons
            )
        finish(row_id, attempt, status, outcome)
    return status


def lock_partner(partner_id):
    """Serialise imports per partner so that license allocation and linking stay atomic."""
    query = Partner.select().where(Partner.id == partner_id)
    if not is_sqlite():
        query = query.for_update()  # SQLite's IMMEDIATE transaction already holds the write lock
    return query.get()


def finish(row_id, attempt, status, outcome):
    """Move a pending row to its final status; a late or duplicate signal changes nothing."""
    with db.atomic():
        return (
            ITGlueOrganization.update(status=status, outcome=outcome, status_changed_at=utcnow())
            .where(
                ITGlueOrganization.id == row_id,
                ITGlueOrganization.status == PENDING,
                ITGlueOrganization.attempt == attempt,
            )
            .execute()
        )
