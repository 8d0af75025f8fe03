"""The sandbox WSGI app: IT Glue's organizations and domains API, for three regions at once."""

# A test double for IT Glue, which development machines cannot reach. Shapes, casing, paging,
# errors and limits follow the reference notes on the real API (reference/itglue-api.md). The
# /_sandbox control routes take no key: never expose the sandbox beyond a laptop or a test.

import fnmatch
import hmac
import ipaddress
import json
import math
import threading
import time
from collections import Counter, deque
from urllib.parse import urlencode

from flask import Blueprint, Flask, abort, current_app, g, request

from webapp.itglue.sandbox.data import QUICK_NOTES_LIMIT, generate_accounts

MEDIA_TYPE = "application/vnd.api+json"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
LOOKUP_ROUTES = (
    "manufacturers",
    "configuration_statuses",
    "configuration_types",
    "contact_types",
    "countries",
    "flexible_asset_types",
    "operating_systems",
    "password_categories",
    "regions",
    "models",
)
ORGANIZATION_SORTS = {
    "name",
    "id",
    "updated_at",
    "created_at",
    "organization_status_name",
    "organization_type_name",
    "short_name",
    "my_glue_account_id",
}
DOMAIN_SORTS = {"id", "name", "created_at", "updated_at"}
LOOKUP_SORTS = {"id", "name", "created_at", "updated_at"}
NOT_FOUND_HTML = """<!DOCTYPE html>
<html>
<head>
  <title>The page you were looking for doesn't exist (404)</title>
  <meta name="viewport" content="width=device-width,initial-scale=1">
</head>
<body>
  <div class="dialog">
    <div>
      <h1>The page you were looking for doesn't exist.</h1>
      <p>You may have mistyped the address or the page may have moved.</p>
    </div>
  </div>
</body>
</html>
"""

api = Blueprint("itglue_api", __name__, url_prefix="/<region>")
control = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")


class SandboxState:
    """Run-time switches and counters of one sandbox, safe to use from many threads."""

    def __init__(self, accounts, *, latency_ms, rate_limit, rate_window, allowlist):
        self.accounts = accounts
        self.latency_ms = latency_ms
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.allowlist = allowlist
        self.invalid_key_status = 403
        self.faults = []
        self.hostile_org = False
        self.malformed_records = False
        self.requests = Counter()
        self.statuses = Counter()
        self.lock = threading.Lock()
        self._windows = {region: deque() for region in accounts}
        self._failed_once = set()
        self.encoded = {}

    def add_fault(self, kind, **options):
        """Queue a fault: rate_limit, status, fail_once or slow (see apply_faults for options)."""
        if kind not in {"rate_limit", "status", "fail_once", "slow"}:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self.lock:
            self.faults.append({"kind": kind, **options})

    def clear_faults(self):
        """Remove every queued fault and turn off the data faults."""
        with self.lock:
            self.faults.clear()
            self._failed_once.clear()
        self.set_hostile_org(False)
        self.malformed_records = False

    def reset(self):
        """Clear faults, request counters and rate-limit windows (between benchmark runs)."""
        self.clear_faults()
        with self.lock:
            self.requests.clear()
            self.statuses.clear()
            for window in self._windows.values():
                window.clear()

    def set_hostile_org(self, enabled, region="us"):
        """Add (or remove) an organization with hostile and malformed attributes."""
        account = self.accounts[region]
        with self.lock:
            self.hostile_org = enabled
            account.organizations = [
                org for org in account.organizations if org["id"] != HOSTILE_ORG_ID
            ]
            if enabled:
                account.organizations.append(hostile_organization())
            self.encoded = {k: v for k, v in self.encoded.items() if k[1] != HOSTILE_ORG_ID}
            account.reindex()

    def stats(self):
        """Return request counts per region and route, and per response status."""
        with self.lock:
            by_region = {}
            for (region, route), count in self.requests.items():
                by_region.setdefault(region, {})[route] = count
            return {
                "total": sum(self.requests.values()),
                "regions": by_region,
                "statuses": {str(status): count for status, count in self.statuses.items()},
            }

    def count(self, region, route):
        """Record one request against a region's route."""
        with self.lock:
            self.requests[(region, route)] += 1

    def admit(self, region):
        """Take one request from the region's sliding window; return seconds to wait if full."""
        now = time.monotonic()
        with self.lock:
            window = self._windows[region]
            while window and window[0] <= now - self.rate_window:
                window.popleft()
            if len(window) >= self.rate_limit:
                return max(1, math.ceil(window[0] + self.rate_window - now))
            window.append(now)
            return None

    def take_fault(self, region, route, page):
        """Pop the first fault that matches this request, or return None."""
        with self.lock:
            for fault in self.faults:
                if fault.get("region", region) != region:
                    continue
                if fault.get("path", route) != route:
                    continue
                if fault["kind"] == "fail_once":
                    marker = (region, route, fault.get("page", 1))
                    if fault.get("page", 1) != page or marker in self._failed_once:
                        continue
                    self._failed_once.add(marker)
                    return dict(fault)
                remaining = fault.get("count")
                if remaining is not None:
                    if remaining <= 0:
                        continue
                    fault["count"] = remaining - 1
                return dict(fault)
        return None


HOSTILE_ORG_ID = "999999999"


def hostile_organization():
    """Return an organization whose attributes are hostile or of the wrong type."""
    return {
        "id": HOSTILE_ORG_ID,
        "type": "organizations",
        "attributes": {
            "name": "Evil\x00 Corp\r\n<img src=x onerror=alert(1)> " + "A" * 5000,
            "alert": {"nested": ["object"]},
            "description": 12345,
            "organization-type-id": "not-a-number",
            "organization-type-name": ["Customer"],
            "organization-status-id": None,
            "organization-status-name": 7,
            "primary": "yes",
            "logo": None,
            "quick-notes": "\u202e" + "x" * 400,
            "short-name": 42,
            "created-at": "yesterday",
            "updated-at": "not a date",
            "parent-id": {"id": 1},
            "ancestor-ids": "[1,",
        },
        "relationships": None,
    }


MALFORMED_RECORDS = [
    "not an object",
    None,
    {"id": 123456, "type": "organizations", "attributes": {"name": "Integer id"}},
    {"id": "777", "type": "organizations", "attributes": None},
    {"type": "organizations", "attributes": {"name": "No id"}},
    ["a", "list"],
]


def create_sandbox(
    *,
    orgs=50,
    domains_per_org=2,
    seed=1,
    latency_ms=0,
    rate_limit=3000,
    rate_window=300,
    allowlist=None,
):
    """Return the sandbox Flask app; its keys are in app.config["SANDBOX_KEYS"]."""
    accounts = generate_accounts(orgs=orgs, domains_per_org=domains_per_org, seed=seed)
    app = Flask(__name__)
    app.config["SANDBOX"] = SandboxState(
        accounts,
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        rate_window=rate_window,
        allowlist=allowlist,
    )
    app.config["SANDBOX_KEYS"] = {region: account.key for region, account in accounts.items()}
    app.register_blueprint(control)
    app.register_blueprint(api)
    app.register_error_handler(404, html_not_found)
    app.register_error_handler(405, html_not_found)
    app.after_request(count_status)
    return app


def sandbox_keys(app):
    """Return the API key of each region of a sandbox app."""
    return dict(app.config["SANDBOX_KEYS"])


def html_not_found(error):
    """Answer unknown routes as Rails does: an HTML page, not JSON."""
    if "region" not in g:
        state().count("unrouted", request.path)
    return NOT_FOUND_HTML, 404, {"Content-Type": "text/html; charset=utf-8"}


def state():
    """Return the running sandbox's state object."""
    return current_app.config["SANDBOX"]


def api_response(body, status=200, headers=None):
    """Serialise a body as IT Glue does: UTF-8 JSON with the JSON:API media type."""
    return to_json(body), status, {"Content-Type": MEDIA_TYPE, **(headers or {})}


def errors_response(status, title, detail=None):
    """Return a JSON:API errors body with an integer status, as the simulator standard."""
    error = {"status": status, "title": title}
    if detail:
        error["detail"] = detail
    return api_response({"errors": [error]}, status)


def forbidden():
    """Return the gateway-style refusal used for bad keys and blocked addresses."""
    sandbox = state()
    return api_response({"message": "Forbidden"}, sandbox.invalid_key_status)


@api.url_value_preprocessor
def pull_region(endpoint, values):
    """Move the region out of the view arguments; unknown regions are unknown routes."""
    region = values.pop("region")
    if region not in state().accounts:
        abort(404)
    g.region = region
    g.account = state().accounts[region]


@api.before_request
def guard():
    """Count the request, then apply latency, the IP allowlist, the key, the limit and faults."""
    sandbox = state()
    route = request.url_rule.rule.removeprefix("/<region>")
    sandbox.count(g.region, route)
    if sandbox.latency_ms:
        time.sleep(sandbox.latency_ms / 1000)
    if not address_allowed(sandbox.allowlist):
        return forbidden()
    key = request.headers.get("x-api-key", "")
    if not hmac.compare_digest(key.encode(), g.account.key.encode()):
        return forbidden()
    wait = sandbox.admit(g.region)
    if wait is not None:
        return rate_limited(wait)
    fault = sandbox.take_fault(g.region, route, page_number())
    if fault:
        return apply_fault(fault)
    return None


def count_status(response):
    """Record each API response status so tests and benchmarks can see retries."""
    if not request.path.startswith("/_sandbox/"):
        with state().lock:
            state().statuses[response.status_code] += 1
    return response


def address_allowed(allowlist):
    """Return whether the client address is in the allowlist (or there is no allowlist)."""
    if not allowlist:
        return True
    raw = request.headers.get("X-Sandbox-Client-IP") or request.remote_addr or ""
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return False
    for entry in allowlist:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def rate_limited(retry_after):
    """Return a 429 with a JSON:API body and, when given, an integer Retry-After header."""
    response = errors_response(429, "Too Many Requests", "Rate limit exceeded")
    if retry_after is not None:
        response[2]["Retry-After"] = str(int(retry_after))
    return response


def apply_fault(fault):
    """Turn a matched fault into a response, or sleep and let the request through."""
    kind = fault["kind"]
    if kind == "rate_limit":
        return rate_limited(fault.get("retry_after"))
    if kind == "slow":
        time.sleep(fault.get("ms", 1000) / 1000)
        return None
    status = int(fault.get("status", 500))
    if status == 504:
        return "<html><body><h1>504 Gateway Time-out</h1></body></html>", 504
    if status in (502, 503):
        return errors_response(status, "Service Unavailable")
    return errors_response(status, "Internal Server Error")


def page_number():
    """Return the requested 1-based page number; a bad value means page 1."""
    try:
        return max(1, int(request.args.get("page[number]", "1")))
    except ValueError:
        return 1


def page_size():
    """Return the page size: default 50, and over 1000 clamped to 1000."""
    # The real API's answer above 1000 is undocumented (clamp, 400 or 422); clamping keeps
    # clients that ask for more working, and the links then carry the size actually used.
    try:
        size = int(request.args.get("page[size]", DEFAULT_PAGE_SIZE))
    except ValueError:
        return DEFAULT_PAGE_SIZE
    if size < 1:
        return DEFAULT_PAGE_SIZE
    return min(size, MAX_PAGE_SIZE)


def filter_values(name):
    """Return the comma-separated values of filter[name]; a literal comma is escaped as \\,."""
    raw = request.args.get(f"filter[{name}]")
    if raw is None:
        return None
    parts = raw.replace("\\,", "\x00").split(",")
    values = [part.replace("\x00", ",").strip() for part in parts if part.strip()]
    # An empty filter (filter[name]=) filters nothing rather than everything.
    return values or None


def sort_records(records, allowed):
    """Sort by the comma-separated snake_case fields of ?sort=, '-' meaning descending."""
    spec = request.args.get("sort", "").strip()
    if not spec:
        return records, None
    fields = [field.strip() for field in spec.split(",") if field.strip()]
    ordered = list(records)
    # Apply the least significant key first; Python's sort is stable.
    for field in reversed(fields):
        descending = field.startswith("-")
        # Some clients send kebab-case (sort=created-at); accept it as the snake_case field.
        name = field.lstrip("-").replace("-", "_")
        if name not in allowed:
            return None, errors_response(400, "Bad Request", f"Invalid sort field: {name}")
        ordered.sort(key=lambda record, n=name: sort_key(record, n), reverse=descending)
    return ordered, None


def sort_key(record, name):
    """Return a comparable key for one field; ids sort as numbers, text ignores case."""
    if name == "id":
        return int(record["id"])
    value = record["attributes"].get(name.replace("_", "-"))
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.casefold())
    return (1, str(value))


def matches_name(value, patterns):
    """Return whether a name equals one of the patterns, where * is a wildcard."""
    # Whether the real filter is exact or a substring is disputed; exact with * wildcards (what
    # py-itglue sends for partial search) covers both uses.
    if not isinstance(value, str):
        return False
    for pattern in patterns:
        if "*" in pattern:
            if fnmatch.fnmatchcase(value.casefold(), pattern.casefold().replace("?", "[?]")):
                return True
        elif value == pattern:
            return True
    return False


def integer_filter(records, attribute, name):
    """Keep records whose integer attribute is one of filter[name]'s values."""
    values = filter_values(name)
    if values is None:
        return records
    wanted = {value for value in values if value.lstrip("-").isdigit()}
    return [record for record in records if str(record["attributes"].get(attribute)) in wanted]


def paginate(records, *, list_url, truncate_notes=False):
    """Return one page of records with IT Glue's meta and absolute links."""
    size = page_size()
    number = page_number()
    total = len(records)
    # Kaminari (which Rails APIs use) reports 0 total pages for an empty result.
    total_pages = math.ceil(total / size)
    start = (number - 1) * size
    page = records[start : start + size]
    encoded = [encode_record(record, truncate_notes) for record in page]
    if state().malformed_records and number == 1:
        encoded += [to_json(record) for record in MALFORMED_RECORDS]
    meta = {
        "current-page": number,
        "next-page": number + 1 if number < total_pages else None,
        "prev-page": number - 1 if number > 1 else None,
        "total-pages": total_pages,
        "total-count": total,
        "filters": {},
    }
    links = {
        "self": page_link(list_url, number, size),
        "first": page_link(list_url, 1, size),
    }
    if meta["prev-page"] is not None:
        links["prev"] = page_link(list_url, meta["prev-page"], size)
    if meta["next-page"] is not None:
        links["next"] = page_link(list_url, meta["next-page"], size)
    links["last"] = page_link(list_url, max(1, total_pages), size)
    body = f'{{"data":[{",".join(encoded)}],"meta":{to_json(meta)},"links":{to_json(links)}}}'
    return body, 200, {"Content-Type": MEDIA_TYPE}


def encode_record(record, truncate_notes):
    """Return a record's JSON text, encoded once and cached."""
    # Encoding a 1,000-record page takes ~15 ms of GIL time; cached, concurrent page requests
    # are served in parallel as the real service's many servers do, so benchmarks measure the
    # client, not the simulator.
    cache = state().encoded
    key = (record["type"], record["id"], truncate_notes)
    text = cache.get(key)
    if text is None:
        text = to_json(truncated(record) if truncate_notes else record)
        cache[key] = text
    return text


def to_json(value):
    """Encode a value as compact UTF-8 JSON text."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def page_link(list_url, number, size):
    """Return an absolute link to a page, keeping every other query parameter as sent."""
    params = [
        (key, value)
        for key, value in request.args.items(multi=True)
        if key not in ("page[number]", "page[size]")
    ]
    params += [("page[number]", str(number)), ("page[size]", str(size))]
    return f"{list_url}?{urlencode(params)}"


def list_url():
    """Return this request's absolute URL without its query, built from its own host."""
    return request.base_url


def truncated(record):
    """Return an organization as the index shows it: quick-notes cut to 250 characters."""
    notes = record["attributes"].get("quick-notes")
    if not isinstance(notes, str) or len(notes) <= QUICK_NOTES_LIMIT:
        return record
    return {
        **record,
        "attributes": {**record["attributes"], "quick-notes": notes[:QUICK_NOTES_LIMIT]},
    }


def record_not_found():
    """Return the JSON:API 404 for a well-formed route with an unknown id."""
    return errors_response(404, "Record not found", "Record not found")


@api.get("/organizations")
def organizations_index():
    """List organizations with IT Glue's filters, sorting and paging."""
    records = g.account.organizations
    ids = filter_values("id")
    if ids is not None:
        wanted = set(ids)
        records = [record for record in records if record["id"] in wanted]
    names = filter_values("name")
    if names is not None:
        records = [r for r in records if matches_name(r["attributes"].get("name"), names)]
    records = integer_filter(records, "organization-type-id", "organization_type_id")
    records = integer_filter(records, "organization-status-id", "organization_status_id")
    records, error = sort_records(records, ORGANIZATION_SORTS)
    if error:
        return error
    return paginate(records, list_url=list_url(), truncate_notes=True)


@api.get("/organizations/<org_id>")
def organizations_show(org_id):
    """Show one organization with its quick-notes in full."""
    record = g.account.organizations_by_id.get(org_id)
    if record is None:
        return record_not_found()
    return api_response({"data": record})


@api.get("/domains")
def domains_index():
    """List every domain of the account, filterable by id and organization id."""
    records = g.account.domains
    org_ids = filter_values("organization_id")
    if org_ids is not None:
        records = [d for org_id in org_ids for d in g.account.domains_by_org.get(org_id, [])]
        records.sort(key=lambda domain: int(domain["id"]))
    ids = filter_values("id")
    if ids is not None:
        wanted = set(ids)
        records = [record for record in records if record["id"] in wanted]
    records, error = sort_records(records, DOMAIN_SORTS)
    if error:
        return error
    return paginate(records, list_url=list_url())


@api.get("/organizations/<org_id>/relationships/domains")
def organization_domains(org_id):
    """List one organization's domains; nested routes take no filters, as documented."""
    if org_id not in g.account.organizations_by_id:
        return record_not_found()
    records, error = sort_records(g.account.domains_by_org.get(org_id, []), DOMAIN_SORTS)
    if error:
        return error
    return paginate(records, list_url=list_url())


@api.get("/organization_types")
def organization_types():
    """List the account's organization types."""
    records, error = sort_records(g.account.organization_types, LOOKUP_SORTS)
    return error or paginate(records, list_url=list_url())


@api.get("/organization_statuses")
def organization_statuses():
    """List the account's organization statuses."""
    records, error = sort_records(g.account.organization_statuses, LOOKUP_SORTS)
    return error or paginate(records, list_url=list_url())


def empty_lookup():
    """List a lookup table the sandbox does not fill (pytglue preloads these)."""
    return paginate([], list_url=list_url())


for _route in LOOKUP_ROUTES:
    api.add_url_rule(f"/{_route}", endpoint=_route, view_func=empty_lookup, methods=["GET"])


# Body of POST /_sandbox/faults, every key optional:
#   {"clear": true,                                   drop queued faults first
#    "add": [{"kind": "rate_limit", "count": 3, "retry_after": 1},   429s (retry_after null: none)
#            {"kind": "status", "status": 503, "count": 2},          5xx (count omitted: forever)
#            {"kind": "fail_once", "path": "/domains", "page": 2},   that page fails once with 500
#            {"kind": "slow", "ms": 2000, "count": 1}],              sleep before answering
#    "latency_ms": 100, "allowlist": ["10.0.0.0/8"], "invalid_key_status": 401,
#    "hostile_org": true, "malformed_records": true}
# Any fault may also name a "region" and a "path" (a route such as "/organizations") to match.
@control.post("/faults")
def set_faults():
    """Change faults and switches at run time from a JSON body."""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        return api_response({"error": "expected a JSON object"}, 400)
    sandbox = state()
    try:
        if body.get("clear"):
            sandbox.clear_faults()
        for fault in body.get("add", []):
            options = dict(fault)
            sandbox.add_fault(options.pop("kind"), **options)
        if "latency_ms" in body:
            sandbox.latency_ms = int(body["latency_ms"])
        if "allowlist" in body:
            sandbox.allowlist = body["allowlist"]
        if "invalid_key_status" in body:
            sandbox.invalid_key_status = int(body["invalid_key_status"])
        if "hostile_org" in body:
            sandbox.set_hostile_org(bool(body["hostile_org"]))
        if "malformed_records" in body:
            sandbox.malformed_records = bool(body["malformed_records"])
    except (KeyError, TypeError, ValueError) as error:
        return api_response({"error": str(error)}, 400)
    return api_response({"faults": sandbox.faults, "latency_ms": sandbox.latency_ms})


@control.get("/stats")
def get_stats():
    """Return request counts per region and route, and per status."""
    return api_response(state().stats())


@control.post("/reset")
def reset():
    """Clear faults, counters and rate-limit windows."""
    state().reset()
    return api_response(state().stats())
