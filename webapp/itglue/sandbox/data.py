"""Deterministic IT Glue accounts (organizations, domains, lookups) for the sandbox."""

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

REGION_NAMES = {"us": "United States", "eu": "Europe", "au": "Australia"}
APP_HOSTS = {"us": "itglue.com", "eu": "eu.itglue.com", "au": "au.itglue.com"}
OWNER_NAMES = {
    "us": "Northwind IT Services",
    "eu": "Nordwind IT Dienste GmbH",
    "au": "Southern Cross IT Pty Ltd",
}
SMALL_ACCOUNT_ORGS = 25
QUICK_NOTES_LIMIT = 250
# Naive datetimes that mean UTC: isoformat() is faster on them, which matters at 60,000 records.
EPOCH = datetime(2018, 1, 1)

# Each tuple: name, type, status, domains. They come first so that even a tiny account holds them.
HARD_CASES = [
    ("Springfield City Council", "Customer", "Active", ["springfield.gov", "council.gov.uk"]),
    ("Outback Health Clinic", "Customer", "Active", ["health.gov.au"]),
    ("Mailbox Users Club", "Customer", "Active", ["gmail.com", "outlook.com", "smtp.gmail.com"]),
    (
        "Bad Data Pty Ltd",
        "Customer",
        "Active",
        ["intranet", "192.168.1.10", "*.wildcard.example", "admin@company.example", "exa mple.com"],
    ),
    (
        "Contoso Example",
        "Customer",
        "Active",
        ["Contoso-Example.COM", "contoso-example.com.", "contoso-mail.example"],
    ),
    (
        "Fabrikam Example",
        "Customer",
        "Active",
        ["https://www.Fabrikam-Example.com/contact", "fabrikam-example.co.uk."],
    ),
    ("Bücher Haus", "Customer", "Active", ["bücher-example.de"]),
    ("Acme, Inc.", "Customer", "Active", ["acme-example.com", "shared-example.com"]),
    ("Acme Holdings", "Customer", "Active", ["shared-example.com", "acme-holdings.example"]),
    ('<b>Bold</b> & "Quoted" O\'Brien LLC', "Customer", "Active", ["obrien-example.com"]),
    ("<script>alert(1)</script> Ltd", "Customer", "Active", ["script-example.test"]),
    ("株式会社テスト", "Customer", "Active", ["kabushiki-tesuto.example"]),
    ("Müller Bäckerei GmbH", "Customer", "Active", ["mueller-baeckerei.de"]),
    ("Ωmega Σystems", "Customer", "Active", []),
    ("Dormant Shell Holdings", "Customer", "Inactive", []),
    (
        "The Very Long Name Regional Cooperative of Independent Agricultural Producers, Food "
        "Processors, Logistics Providers, Hardware Retailers and Allied Professional Services "
        "of the Greater Northern Tablelands and Surrounding Districts Incorporated Association",
        "Customer",
        "Active",
        ["long-name-coop.com.au"],
    ),
    ("Example Registrar Vendor", "Vendor", "Active", ["registrar-vendor.example"]),
    ("QA Sandbox Tenant", "Testing Only", "Active", ["qa-tenant.test"]),
    ("ACME Inc", "Customer", "Active", ["acme-inc.example"]),
]

LONG_QUICK_NOTES = (
    "Backups run nightly at 01:00 to the on-site NAS and replicate to the cloud at 03:00. "
    "The firewall is managed by us; the ISP router is in bridge mode. Call the office manager "
    "before any reboot during business hours. After-hours contact is the owner's mobile phone. "
    "Printer lease ends next year; do not renew without asking."
)

WORDS_A = (
    "Blue Red Green Silver Golden North South East West Coastal Harbor River Lake Summit Valley "
    "Pine Oak Maple Cedar Granite Iron Bright Clear Swift Prime Apex Metro Urban Pacific Atlantic "
    "Highland Prairie Sunrise Evergreen Stone Falcon Eagle Lion Tiger Bear Fox Wolf Horizon Vista "
    "Pioneer Liberty Heritage Crescent Meridian Orchard Willow Aspen Sterling Cobalt Crimson"
).split()
WORDS_B = (
    "Dental Legal Accounting Logistics Engineering Medical Construction Plumbing Electrical "
    "Roofing Bakery Brewing Pharmacy Veterinary Realty Insurance Consulting Design Architecture "
    "Manufacturing Printing Catering Fitness Motors Marine Aviation Farms Foods Textiles Media "
    "Software Analytics Robotics Energy Solar Water Freight Travel Finance Capital Partners"
).split()
SUFFIXES = ["Inc", "LLC", "Ltd", "Group", "Co", "Pty Ltd", "GmbH", "Partners", "Associates", ""]
CITIES = (
    "Austin Boston Denver Leeds Bristol Perth Hobart Munich Dublin Auckland Calgary Phoenix Tampa"
).split()
TLDS = [".com", ".com", ".com", ".net", ".co.uk", ".com.au", ".de", ".example", ".test", ".org"]
REGISTRARS = ["Example Registrar LLC", "Sample Names Ltd", "Demo Domains Pty Ltd", None]


@dataclass
class Account:
    """One IT Glue account (a tenant in one region) with its key and data."""

    region: str
    key: str
    subdomain: str
    organization_types: list = field(default_factory=list)
    organization_statuses: list = field(default_factory=list)
    organizations: list = field(default_factory=list)
    domains: list = field(default_factory=list)
    organizations_by_id: dict = field(default_factory=dict)
    domains_by_org: dict = field(default_factory=dict)

    def reindex(self):
        """Rebuild the lookup dictionaries after the lists change."""
        self.organizations_by_id = {org["id"]: org for org in self.organizations}
        self.domains_by_org = {}
        for domain in self.domains:
            org_key = str(domain["attributes"]["organization-id"])
            self.domains_by_org.setdefault(org_key, []).append(domain)


def account_key(seed, region):
    """Return the deterministic API key of a region's account for a seed."""
    rng = random.Random(f"itglue-sandbox-key:{seed}:{region}")
    return "ITG." + f"{rng.getrandbits(128):032x}"


def sandbox_keys_for_seed(seed):
    """Return the API key of every region for a seed, without generating any data."""
    return {region: account_key(seed, region) for region in REGION_NAMES}


def timestamp(moment):
    """Format a naive UTC datetime as IT Glue does: RFC3339 with milliseconds and Z."""
    return moment.isoformat(timespec="milliseconds") + "Z"


@lru_cache(maxsize=1024)
def _expiry(days):
    """Return the expires-on timestamp a number of days into 2026."""
    return timestamp(datetime(2026, 1, 1) + timedelta(days=days))


def _below(rng, n):
    """Return a random int in [0, n); faster than randrange, which matters at 60,000 records."""
    return int(rng.random() * n)


def slug(text):
    """Turn a company name into a plausible domain label."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "company"


def generate_accounts(*, orgs=50, domains_per_org=2, seed=1):
    """Return the three regional accounts: the US one sized as asked, EU and AU small."""
    return {
        "us": generate_account("us", orgs=orgs, domains_per_org=domains_per_org, seed=seed),
        "eu": generate_account("eu", orgs=SMALL_ACCOUNT_ORGS, domains_per_org=2, seed=seed),
        "au": generate_account("au", orgs=SMALL_ACCOUNT_ORGS, domains_per_org=2, seed=seed),
    }


def generate_account(region, *, orgs, domains_per_org, seed):
    """Generate one account; same arguments give the same account, byte for byte."""
    rng = random.Random(f"itglue-sandbox-data:{seed}:{region}")
    # EU and AU tenants use 16-digit ids, above 2**53 like the real 9954... ones (reference 2.1).
    wide_ids = region != "us"
    next_id = _id_counter(rng, wide_ids)
    account = Account(region=region, key=account_key(seed, region), subdomain=f"northwind-{region}")

    def lookup(kind, name):
        moment = EPOCH + timedelta(seconds=_below(rng, 86400 * 30))
        return {
            "id": str(next_id()),
            "type": kind,
            "attributes": {
                "name": name,
                "created-at": timestamp(moment),
                "updated-at": timestamp(moment),
                **({"synced": False} if kind == "organization-types" else {}),
            },
            "relationships": {},
        }

    types = {
        name: lookup("organization-types", name)
        for name in ("Customer", "Vendor", "Owner", "Testing Only")
    }
    statuses = {
        name: lookup("organization-statuses", name)
        for name in ("Active", "Inactive", "Testing Only")
    }
    account.organization_types = list(types.values())
    account.organization_statuses = list(statuses.values())

    plans = [(OWNER_NAMES[region], "Owner", "Active", [f"{slug(OWNER_NAMES[region])}.example"])]
    plans += HARD_CASES
    ordinary = max(0, orgs - len(plans))
    plans += _ordinary_plans(rng, ordinary)

    hard_domain_count = sum(len(plan[3]) for plan in plans)
    extra = max(0, round(orgs * domains_per_org) - hard_domain_count)
    first_ordinary = len(HARD_CASES) + 1
    # Scatter the rest of the domains at random so some orgs have none and some have many.
    counts = [0] * len(plans)
    if ordinary:
        for _ in range(extra):
            counts[first_ordinary + _below(rng, ordinary)] += 1

    for index, (name, type_name, status_name, fixed_domains) in enumerate(plans):
        org = _organization(rng, account, next_id(), name, types[type_name], statuses[status_name])
        if index == 1:
            org["attributes"]["quick-notes"] = LONG_QUICK_NOTES
        account.organizations.append(org)
        names = list(fixed_domains) + _domain_names(rng, name, counts[index])
        for domain_name in names:
            account.domains.append(_domain(rng, account, next_id(), org, domain_name))

    # A few sub-organizations; the docs show parent-id and ancestor-ids as strings.
    for org in account.organizations[first_ordinary + 5 :: 97]:
        parent = account.organizations[first_ordinary]
        org["attributes"]["parent-id"] = parent["id"]
        org["attributes"]["ancestor-ids"] = f"[{parent['id']}]"

    account.reindex()
    return account


def _id_counter(rng, wide):
    """Return a function handing out increasing ids with small random gaps."""
    current = [rng.randrange(9_100_000_000_000_000, 9_900_000_000_000_000) if wide else 3_000_000]

    def next_id():
        current[0] += 1 + _below(rng, 39)
        return current[0]

    return next_id


def _ordinary_plans(rng, count):
    """Return realistic company plans: mostly active customers, some vendors and inactive."""
    plans = []
    seen = set()
    for _ in range(count):
        name = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)} {rng.choice(SUFFIXES)}".strip()
        while name in seen:
            name = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)} {rng.choice(CITIES)} " + str(
                rng.randrange(2, 999)
            )
        seen.add(name)
        type_name = "Vendor" if rng.random() < 0.08 else "Customer"
        status_name = "Inactive" if rng.random() < 0.1 else "Active"
        plans.append((name, type_name, status_name, []))
    return plans


def _domain_names(rng, org_name, count):
    """Return count plausible, distinct domain names for an ordinary organization."""
    base = slug(re.sub(r"\b(Inc|LLC|Ltd|Pty|Co|GmbH|Group)\b", "", org_name))
    names = []
    for index in range(count):
        label = base if index == 0 else f"{base}-{rng.choice(['mail', 'app', 'shop', 'hq'])}{index}"
        names.append(label + rng.choice(TLDS))
    return names


def _organization(rng, account, org_id, name, org_type, status):
    """Return one organization resource as the index and show routes serve it."""
    created = EPOCH + timedelta(seconds=_below(rng, 86400 * 900), milliseconds=_below(rng, 1000))
    updated = created + timedelta(seconds=_below(rng, 86400 * 500), milliseconds=_below(rng, 1000))
    short = "".join(word[0] for word in slug(name).split("-") if word)[:8] or "org"
    return {
        "id": str(org_id),
        "type": "organizations",
        "attributes": {
            "name": name,
            "alert": None,
            "description": None,
            "organization-type-id": int(org_type["id"]),
            "organization-type-name": org_type["attributes"]["name"],
            "organization-status-id": int(status["id"]),
            "organization-status-name": status["attributes"]["name"],
            "primary": org_type["attributes"]["name"] == "Owner",
            "logo": "",
            "quick-notes": None if rng.random() < 0.7 else "Managed since onboarding.",
            "short-name": short,
            "created-at": timestamp(created),
            "updated-at": timestamp(updated),
            "parent-id": None,
            "ancestor-ids": None,
        },
        "relationships": {},
    }


def _domain(rng, account, domain_id, org, name):
    """Return one domain resource belonging to org."""
    created = EPOCH + timedelta(seconds=_below(rng, 86400 * 900))
    updated = created + timedelta(seconds=_below(rng, 86400 * 300), milliseconds=_below(rng, 1000))
    host = APP_HOSTS[account.region]
    return {
        "id": str(domain_id),
        "type": "domains",
        "attributes": {
            "organization-id": int(org["id"]),
            "organization-name": org["attributes"]["name"],
            "resource-url": f"https://{account.subdomain}.{host}/{org['id']}/domains/{domain_id}",
            "name": name,
            "screenshot": None,
            "registrar-name": rng.choice(REGISTRARS),
            "notes": None,
            "expires-on": _expiry(_below(rng, 730)),
            "created-at": timestamp(created),
            "updated-at": timestamp(updated),
        },
        "relationships": {},
    }
