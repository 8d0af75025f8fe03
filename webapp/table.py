"""The IT Glue organizations table: filters, sorting, pages, selection and the import preview."""

from functools import cached_property

from flask import abort, current_app
from peewee import JOIN, SQL, NodeList, Value, fn, prefetch

from webapp import domains
from webapp.importing import match_key, monitored_names, plan_domains
from webapp.models import (
    EMPLOYEE_COUNTS,
    IMPORTED,
    INDUSTRIES,
    PENDING,
    UNIMPORTED,
    ITGlueDomain,
    ITGlueOrganization,
    MonitoredDomain,
    Organization,
    OrganizationLink,
    ProtectedDomain,
)

PAGE_SIZE = 50
MAX_SELECTED = 10_000
STATES = {
    "not_imported": ("Not yet imported", ITGlueOrganization.status.is_null()),
    "pending": ("Pending", ITGlueOrganization.status == PENDING),
    "imported": ("Imported", ITGlueOrganization.status == IMPORTED),
    "unimported": ("Unimported", ITGlueOrganization.status == UNIMPORTED),
}
SORTS = {
    "name": ("Organization", ITGlueOrganization.search_name),
    "type": ("Type", ITGlueOrganization.type_name),
    "itstatus": ("IT Glue status", ITGlueOrganization.status_name),
    "state": ("Status", ITGlueOrganization.status),
}
SHORT_REASONS = {
    domains.GOV: ".gov domain blocked",
    domains.INVALID: "Not a valid domain name",
    domains.LICENSE_LIMIT: "Over the license limit",
}


class Table:
    """One view of the snapshot, built from request arguments (bad values fall back quietly)."""

    def __init__(self, integration, partner, args):
        self.integration = integration
        self.partner = partner
        self.q = (args.get("q") or "").strip()[:200]
        self.type = (args.get("type") or "")[:100]
        self.itstatus = (args.get("itstatus") or "")[:100]
        self.state = args.get("state") if args.get("state") in STATES else ""
        sort = args.get("sort") or "name"
        self.sort = sort if sort.lstrip("-") in SORTS else "name"
        page = args.get("page") or "1"
        ascii_digits = page.isascii() and page.isdigit()
        self.page = int(page) if ascii_digits and 0 < int(page) < 100_000 else 1

    def view_args(self, **changes):
        args = {"q": self.q, "type": self.type, "itstatus": self.itstatus, "state": self.state,
                "sort": self.sort, "page": self.page}  # fmt: skip
        args.update(changes)
        return {k: v for k, v in args.items() if v and not (k == "page" and v == 1)
                and not (k == "sort" and v == "name")}  # fmt: skip

    def query(self):
        query = ITGlueOrganization.select().where(
            ITGlueOrganization.integration == self.integration
        )
        if self.q:
            by_domain = ITGlueDomain.select(ITGlueDomain.organization).where(
                ITGlueDomain.integration == self.integration,
                _lowercase_contains(ITGlueDomain.name, _domain_needle(self.q)),
            )
            query = query.where(
                _lowercase_contains(ITGlueOrganization.search_name, self.q.casefold())
                | ITGlueOrganization.id.in_(by_domain)
            )
        if self.type:
            query = query.where(ITGlueOrganization.type_name == self.type)
        if self.itstatus:
            query = query.where(ITGlueOrganization.status_name == self.itstatus)
        if self.state:
            query = query.where(STATES[self.state][1])
        return query

    @cached_property
    def total(self):
        return self.query().count()

    @cached_property
    def pages(self):
        return max(1, -(-self.total // PAGE_SIZE))

    @cached_property
    def rows(self):
        column = SORTS[self.sort.lstrip("-")][1]
        order = (
            column.desc(nulls="LAST") if self.sort.startswith("-") else column.asc(nulls="FIRST")
        )
        page = min(self.page, self.pages)
        query = self.query().order_by(order, ITGlueOrganization.id).paginate(page, PAGE_SIZE)
        return prefetch(query, ITGlueDomain.select().order_by(ITGlueDomain.id))

    @cached_property
    def types(self):
        return self._distinct(ITGlueOrganization.type_name)

    @cached_property
    def itstatuses(self):
        return self._distinct(ITGlueOrganization.status_name)

    def _distinct(self, column):
        query = (
            ITGlueOrganization.select(column)
            .where(ITGlueOrganization.integration == self.integration, column.is_null(False))
            .distinct()
            .order_by(column)
        )
        return [value for (value,) in query.tuples()]

    @cached_property
    def licenses_used(self):
        return MonitoredDomain.select().where(MonitoredDomain.partner == self.partner).count()

    @property
    def licenses_available(self):
        return max(self.partner.domain_licenses - self.licenses_used, 0)

    def _links(self, rows):
        """Linked organizations of these rows, by IT Glue id."""
        ids = [row.itglue_id for row in rows]
        query = (
            OrganizationLink.select(OrganizationLink.itglue_id, Organization)
            .join(Organization)
            .where(OrganizationLink.integration == self.integration,
                   OrganizationLink.itglue_id.in_(ids))
        )  # fmt: skip
        return {link.itglue_id: link.organization for link in query}

    def _name_matches(self, rows, links):
        """Unlinked organizations whose names match these rows, by match key."""
        keys = {match_key(row.name) for row in rows if row.itglue_id not in links}
        query = (
            Organization.select()
            .join(OrganizationLink, JOIN.LEFT_OUTER)
            .where(Organization.partner == self.partner, Organization.match_name.in_(list(keys)),
                   OrganizationLink.id.is_null())
            .order_by(Organization.id.desc())
        )  # fmt: skip
        return {org.match_name: org for org in query}

    @cached_property
    def previews(self):
        """What Import would do to each row on this page that is not pending."""
        return self._previews(self.rows)

    def _previews(self, rows, available=None):
        available = self.licenses_available if available is None else available
        protected = ProtectedDomain.names()
        support_email = current_app.config["SUPPORT_EMAIL"]
        links = self._links(rows)
        matches = self._name_matches(rows, links)
        # One lookup for the whole page; domain.name is the normalised name (None if invalid).
        monitored = monitored_names(
            self.partner, {d.name for r in rows for d in r.domains if d.name}
        )
        previews = {}
        for row in rows:
            if row.status == PENDING:
                continue
            linked = links.get(row.itglue_id)
            match = None if linked else matches.get(match_key(row.name))
            plan = plan_domains(
                self.partner, linked or match, row.domains, protected=protected,
                support_email=support_email, available=available, monitored=monitored,
            )  # fmt: skip
            notes = []
            if linked:
                notes.append(("link", f"Linked to “{linked.name}”"))
            elif match:
                notes.append(("link", f"Links to the existing organization “{match.name}”"))
            for reason in plan.reasons:
                notes.append(("block", SHORT_REASONS.get(reason, reason)))
            total = len(row.domains)
            lead = (f"Will import {len(plan.new_names)} new of {total} domains" if total
                    else "Will import (no domains)")  # fmt: skip
            previews[row.id] = {"lead": lead, "notes": notes, "new_names": plan.new_names}
        return previews

    def needed_for(self, selected_ids):
        """Licenses the selected rows would take: their distinct new domains, however many."""
        if not selected_ids:
            return 0
        rows = ITGlueOrganization.select().where(
            ITGlueOrganization.integration == self.integration,
            ITGlueOrganization.id.in_(list(selected_ids)[:1000]),
        )
        rows = prefetch(rows, ITGlueDomain.select().order_by(ITGlueDomain.id))
        # Counted without the license cap, and once for a domain that two selected rows share,
        # so the counter can say how far the selection goes over what is available.
        previews = self._previews(rows, available=MAX_SELECTED * 1000).values()
        return len({name for preview in previews for name in preview["new_names"]})

    def is_new(self, item):
        return 0 < self.integration.baseline_load < item.first_load

    def selected_rows(self, form):
        """The rows the form selected (this page's checkboxes, or all matching the filters)."""
        if form.get("all_matching") == "1":
            rows = list(self.query().where(
                ITGlueOrganization.status.is_null() | (ITGlueOrganization.status != PENDING)
            ).limit(MAX_SELECTED))  # fmt: skip
            return rows, None if rows else "No organization matches these filters."
        raw = form.getlist("selected")
        # isascii: str.isdigit() also accepts digits such as "١٢" or "²", which int() reads or
        # refuses; only the ASCII ids the page renders are understood.
        if len(raw) > MAX_SELECTED or not all(
            v.isascii() and v.isdigit() and len(v) < 12 for v in raw
        ):
            abort(400, "The selection was not understood. Reload the page and try again.")
        ids = {int(v) for v in raw}
        if not ids:
            return [], "Select at least one organization."
        rows = list(ITGlueOrganization.select().where(
            ITGlueOrganization.integration == self.integration, ITGlueOrganization.id.in_(ids)
        ))  # fmt: skip
        if len(rows) != len(ids):
            abort(404)
        return rows, None

    def choices_for(self, rows, form):
        """Each row's Employee Count and Industry (the form's, else saved); which are missing."""
        choices, missing = {}, {}
        for row in rows:
            employee_count = form.get(f"employee_count-{row.id}") or row.employee_count
            industry = form.get(f"industry-{row.id}") or row.industry
            if employee_count and employee_count not in EMPLOYEE_COUNTS:
                abort(400, "That is not a valid Employee Count.")
            if industry and industry not in INDUSTRIES:
                abort(400, "That is not a valid Industry.")
            fields = [name for name, value in (("Employee Count", employee_count),
                                               ("Industry", industry)) if not value]  # fmt: skip
            if fields:
                missing[row.id] = fields
            choices[row.id] = (employee_count, industry)
        return choices, missing

    def poll_rows(self, ids):
        """Split rows among `ids` (pending when last shown) into final ones and still pending."""
        if not ids:
            return [], []
        rows = list(
            ITGlueOrganization.select().where(
                ITGlueOrganization.integration == self.integration,
                ITGlueOrganization.id.in_(ids),
            )
        )
        final = [row for row in rows if row.status != PENDING]
        if final:
            final = prefetch(
                ITGlueOrganization.select().where(
                    ITGlueOrganization.id.in_([row.id for row in final])
                ),
                ITGlueDomain.select().order_by(ITGlueDomain.id),
            )
        return list(final), [row.id for row in rows if row.status == PENDING]

    @cached_property
    def pending(self):
        return (
            ITGlueOrganization.select()
            .where(ITGlueOrganization.integration == self.integration,
                   ITGlueOrganization.status == PENDING)
            .exists()
        )  # fmt: skip

    @cached_property
    def counts(self):
        query = (
            ITGlueOrganization.select(ITGlueOrganization.status, fn.COUNT(ITGlueOrganization.id))
            .where(ITGlueOrganization.integration == self.integration)
            .group_by(ITGlueOrganization.status)
            .tuples()
        )
        return dict(query)


def _lowercase_contains(column, needle):
    """`column` (stored lowercase) contains `needle`, with % and _ taken literally.

    Plain LIKE rather than ILIKE: the columns are stored casefolded, and PostgreSQL's ILIKE
    over 50,000 domains costs several times more.
    """
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    # Spelled out: peewee turns OP.LIKE into GLOB on SQLite, which has no ESCAPE.
    return NodeList((column, SQL("LIKE"), Value(f"%{escaped}%"), SQL("ESCAPE '\\'")))


def _domain_needle(text):
    """Search domains by their normalised form, so "https://www.Fabrikam-Example.com" finds them."""
    try:
        return domains.normalise(text)
    except domains.InvalidDomain:
        return text.strip().casefold()
