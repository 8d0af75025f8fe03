"""Peewee models of the portal, their named queries and the rules that belong to one model."""

from datetime import UTC, datetime

from peewee import (
    BooleanField,
    CharField,
    Check,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
    fn,
)
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.db import BaseModel

EMPLOYEE_COUNTS = ("1-10", "11-50", "51-100", "101-250", "251+")

INDUSTRIES = (
    "Accounting",
    "Agriculture",
    "Construction",
    "Education",
    "Energy & Utilities",
    "Engineering",
    "Financial Services",
    "Government",
    "Healthcare",
    "Hospitality",
    "Information Technology",
    "Insurance",
    "Legal",
    "Manufacturing",
    "Media & Entertainment",
    "Non-Profit",
    "Real Estate",
    "Retail",
    "Transportation & Logistics",
    "Other",
)

ROLES = {"admin": "Partner admin", "user": "Partner user", "support": "Support staff"}

# A hash of a throw-away password, checked when the email is unknown so that a wrong email and a
# wrong password take the same time and give the same answer.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def utcnow():
    return datetime.now(UTC).replace(tzinfo=None)


def _sql_in(column, values):
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return Check(f"{column} IN ({quoted})")


class Partner(BaseModel):
    name = CharField(max_length=200, unique=True)
    domain_licenses = IntegerField(constraints=[Check("domain_licenses >= 0")])
    created_at = DateTimeField(default=utcnow)

    def licenses_used(self):
        return MonitoredDomain.select().where(MonitoredDomain.partner == self).count()


class User(BaseModel):
    email = CharField(max_length=254, unique=True)
    password_hash = CharField(max_length=255)
    partner = ForeignKeyField(Partner, null=True, backref="users", on_delete="CASCADE")
    role = CharField(max_length=16, constraints=[_sql_in("role", ROLES)])
    integration_access = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        # Support staff belong to no partner; everybody else belongs to exactly one.
        constraints = [Check("(role = 'support') = (partner_id IS NULL)")]

    @classmethod
    def authenticate(cls, email, password):
        """Return the user with this email and password, or None for any mismatch."""
        user = cls.get_or_none(cls.email == normalise_email(email))
        if user is None:
            check_password_hash(_DUMMY_HASH, password)
            return None
        return user if check_password_hash(user.password_hash, password) else None

    def set_password(self, password):
        self.password_hash = generate_password_hash(password)

    @property
    def is_admin(self):
        return self.role == "admin"

    @property
    def is_support(self):
        return self.role == "support"

    @property
    def can_configure_integration(self):
        return self.role == "admin" and self.integration_access


class Organization(BaseModel):
    partner = ForeignKeyField(Partner, backref="organizations", on_delete="CASCADE")
    name = CharField(max_length=255)
    # The name reduced for matching (case, punctuation, legal suffixes): see importing.match_key.
    match_name = CharField(max_length=255, default="")
    employee_count = CharField(
        max_length=16, null=True, constraints=[_sql_in("employee_count", EMPLOYEE_COUNTS)]
    )
    industry = CharField(max_length=64, null=True, constraints=[_sql_in("industry", INDUSTRIES)])
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("partner", "name"), False), (("partner", "match_name"), False))

    def save(self, *args, **kwargs):
        from webapp.importing import match_key

        self.match_name = match_key(self.name)
        return super().save(*args, **kwargs)

    @classmethod
    def for_partner(cls, partner):
        return cls.select().where(cls.partner == partner)


class MonitoredDomain(BaseModel):
    # The partner is stored again here so that "one domain once per partner" is a database rule.
    partner = ForeignKeyField(Partner, on_delete="CASCADE")
    organization = ForeignKeyField(Organization, backref="domains", on_delete="CASCADE")
    name = CharField(max_length=253)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("partner", "name"), True),)


class ProtectedDomain(BaseModel):
    name = CharField(max_length=253, unique=True)
    created_at = DateTimeField(default=utcnow)

    @classmethod
    def names(cls):
        return {row.name for row in cls.select(cls.name)}

    @classmethod
    def seed(cls):
        """Fill an empty list with the default mail providers and large platforms."""
        from webapp.domains import DEFAULT_PROTECTED

        if not cls.select().exists():
            cls.insert_many([{"name": n} for n in DEFAULT_PROTECTED]).execute()


def normalise_email(email):
    return (email or "").strip().lower()


def domain_counts(partner):
    """Map each organization id of the partner to its number of monitored domains."""
    query = (
        MonitoredDomain.select(MonitoredDomain.organization, fn.COUNT(MonitoredDomain.id))
        .where(MonitoredDomain.partner == partner)
        .group_by(MonitoredDomain.organization)
    )
    return dict(query.tuples())


REGIONS = {"us": "United States", "eu": "Europe", "au": "Australia"}

# Import status of an IT Glue organization row; None means "not imported yet". Status only moves
# forward within one attempt: pending -> imported | unimported. Retry starts a new attempt.
PENDING, IMPORTED, UNIMPORTED = "pending", "imported", "unimported"
STATUSES = (PENDING, IMPORTED, UNIMPORTED)


class Integration(BaseModel):
    partner = ForeignKeyField(Partner, unique=True, on_delete="CASCADE")
    region = CharField(max_length=2, constraints=[_sql_in("region", REGIONS)])
    encrypted_key = TextField()
    # The last four characters, kept apart from the ciphertext so the tile can say "…abcd".
    key_hint = CharField(max_length=4)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    key_updated_at = DateTimeField(default=utcnow)
    last_contact_at = DateTimeField(null=True)
    key_problem = TextField(null=True)
    # Loading the IT Glue snapshot: one numbered load at a time; the job checks its number.
    load_number = IntegerField(default=0)
    load_state = CharField(max_length=12, default="idle")
    load_phase = CharField(max_length=16, null=True)
    load_done = IntegerField(default=0)
    load_total = IntegerField(default=0)
    load_error = TextField(null=True)
    loaded_at = DateTimeField(null=True)
    # The load the current snapshot is compared with, to highlight what a refresh found new.
    baseline_load = IntegerField(default=0)
    loaded_load = IntegerField(default=0)
    # How often the reconciler restarted this load after its job vanished; capped.
    load_requeues = IntegerField(default=0)

    @property
    def region_name(self):
        return REGIONS[self.region]

    @property
    def loading(self):
        return self.load_state == "loading"

    def load_progress_label(self):
        """Words for the progress bar, e.g. "Loaded 3,000 of 10,000 organizations"."""
        if self.load_phase in ("organizations", "domains") and self.load_total:
            return f"Loaded {self.load_done:,} of {self.load_total:,} {self.load_phase}"
        if self.load_phase == "saving":
            return "Saving the IT Glue organizations and domains…"
        return "Connecting to IT Glue…"


class ITGlueOrganization(BaseModel):
    """An organization of the partner's IT Glue snapshot, with its selections and import status."""

    integration = ForeignKeyField(Integration, backref="organizations", on_delete="CASCADE")
    itglue_id = CharField(max_length=32)
    name = CharField(max_length=255)
    search_name = CharField(max_length=255)
    type_name = CharField(max_length=100, null=True)
    status_name = CharField(max_length=100, null=True)
    first_load = IntegerField()
    seen_load = IntegerField()
    previous_name = CharField(max_length=255, null=True)
    employee_count = CharField(
        max_length=16, null=True, constraints=[_sql_in("employee_count", EMPLOYEE_COUNTS)]
    )
    industry = CharField(max_length=64, null=True, constraints=[_sql_in("industry", INDUSTRIES)])
    status = CharField(max_length=12, null=True, constraints=[_sql_in("status", STATUSES)])
    attempt = IntegerField(default=0)
    outcome = TextField(null=True)
    status_changed_at = DateTimeField(null=True)
    job_id = CharField(max_length=64, null=True)

    class Meta:
        indexes = (
            (("integration", "itglue_id"), True),
            (("integration", "search_name"), False),
            (("integration", "status"), False),
            (("integration", "status_changed_at"), False),
        )


class ITGlueDomain(BaseModel):
    integration = ForeignKeyField(Integration, on_delete="CASCADE")
    organization = ForeignKeyField(ITGlueOrganization, backref="domains", on_delete="CASCADE")
    itglue_id = CharField(max_length=32)
    raw_name = CharField(max_length=255)
    name = CharField(max_length=253, null=True)
    first_load = IntegerField()
    seen_load = IntegerField()
    outcome = CharField(max_length=12, null=True)
    reason = TextField(null=True)

    class Meta:
        indexes = (
            (("integration", "itglue_id"), True),
            (("integration", "name"), False),
        )


class OrganizationLink(BaseModel):
    """One IT Glue organization links to one organization here, and vice versa."""

    integration = ForeignKeyField(Integration, backref="links", on_delete="CASCADE")
    itglue_id = CharField(max_length=32)
    organization = ForeignKeyField(Organization, unique=True, on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("integration", "itglue_id"), True),)


class ImportRun(BaseModel):
    integration = ForeignKeyField(Integration, backref="runs", on_delete="CASCADE")
    started_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    started_at = DateTimeField(default=utcnow)
    organizations = IntegerField()


MODELS = [
    Partner,
    User,
    Organization,
    MonitoredDomain,
    ProtectedDomain,
    Integration,
    ITGlueOrganization,
    ITGlueDomain,
    OrganizationLink,
    ImportRun,
]
