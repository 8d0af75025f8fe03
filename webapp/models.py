"""Peewee models of the portal, their named queries and the rules that belong to one model."""

from datetime import UTC, datetime

from peewee import (
    BooleanField,
    CharField,
    Check,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
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
    employee_count = CharField(
        max_length=16, null=True, constraints=[_sql_in("employee_count", EMPLOYEE_COUNTS)]
    )
    industry = CharField(max_length=64, null=True, constraints=[_sql_in("industry", INDUSTRIES)])
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("partner", "name"), False),)

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


MODELS = [Partner, User, Organization, MonitoredDomain, ProtectedDomain]
