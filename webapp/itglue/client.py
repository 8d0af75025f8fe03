"""The one seam to IT Glue: key checks and complete, concurrent loads of organizations, domains."""

# Pure httpx, no Flask. The API key lives only in a request hook's closure, so it never shows up
# in a URL, a repr, an exception or a log line, and it is only ever sent to the base URL's host.

import email.utils
import functools
import logging
import random
import threading
import time
import unicodedata
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

log = logging.getLogger(__name__)

REGIONS = {"us": "United States", "eu": "Europe", "au": "Australia"}
DEFAULT_URLS = {
    "us": "https://api.itglue.com",
    "eu": "https://api.eu.itglue.com",
    "au": "https://api.au.itglue.com",
}
MEDIA_TYPE = "application/vnd.api+json"
PAGE_SIZE = 1000
WORKERS = 8
MAX_ATTEMPTS = 5
BASE_DELAY = 0.5
MAX_DELAY = 30.0
MAX_RETRY_AFTER = 300.0
MAX_SEQUENTIAL_PAGES = 10_000
# IT Glue allows 3,000 requests per 5 minutes per account; keep a margin for other callers.
BUDGET_REQUESTS = 2900
BUDGET_WINDOW = 300.0


class ITGlueError(Exception):
    """Any failure talking to IT Glue; messages are safe to show and never hold the key."""


class InvalidKey(ITGlueError):
    """IT Glue refused the key (401/403): wrong, revoked, wrong region or IP not allowed."""


class Unavailable(ITGlueError):
    """IT Glue could not be reached or kept failing after retries."""


class BadResponse(ITGlueError):
    """IT Glue answered something we cannot use (a 4xx or a body of the wrong shape)."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class KeyCheck:
    """The outcome of checking an API key against a region."""

    ok: bool
    problem: str | None = None
    message: str | None = None
    belongs_to: str | None = None


@dataclass(frozen=True)
class Organization:
    """An IT Glue organization, reduced to what the portal uses."""

    id: str
    name: str
    type_name: str | None
    type_id: int | None
    status_name: str | None
    status_id: int | None
    short_name: str | None
    updated_at: str | None
    parent_id: str | None


@dataclass(frozen=True)
class Domain:
    """An IT Glue domain; organization_id stays a string because EU/AU ids exceed 2^53."""

    id: str
    organization_id: str
    name: str


@dataclass(frozen=True)
class Lookup:
    """One row of a lookup table such as organization types or statuses."""

    id: str
    name: str


class Budget:
    """A sliding window of at most `limit` requests per `window` seconds; acquire() blocks."""

    def __init__(self, limit=BUDGET_REQUESTS, window=BUDGET_WINDOW, *, clock=time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._sent = deque()
        self._lock = threading.Lock()

    def acquire(self, sleep=time.sleep):
        """Wait until one more request fits in the window, then record it."""
        while True:
            with self._lock:
                now = self.clock()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                delay = self._sent[0] + self.window - now
            sleep(max(delay, 0.01))


class Client(httpx.Client):
    """An httpx.Client for one IT Glue region, with its retry settings and request budget."""

    def __init__(self, *, max_attempts, base_delay, budget, sleep, workers, **kwargs):
        super().__init__(**kwargs)
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.budget = budget
        self.sleep = sleep
        self.workers = workers


def open_client(
    base_url,
    api_key,
    *,
    transport=None,
    timeout=None,
    max_attempts=MAX_ATTEMPTS,
    base_delay=BASE_DELAY,
    budget=None,
    sleep=time.sleep,
    workers=WORKERS,
):
    """Return a Client that sends the key to base_url's host only, with explicit timeouts."""
    check_key_characters(api_key)
    base = httpx.URL(base_url)
    if base.scheme not in ("http", "https") or not base.host:
        raise ValueError("The IT Glue URL must be an absolute http(s) URL.")
    origin = (base.scheme, base.host, base.port)

    def guard_and_sign(request):
        # Checked on every request, so a followed link can never carry the key elsewhere.
        if (request.url.scheme, request.url.host, request.url.port) != origin:
            raise ITGlueError(f"Refused to send a request to {request.url.host}, not {base.host}.")
        request.headers["x-api-key"] = api_key

    return Client(
        base_url=base_url,
        transport=transport,
        timeout=timeout or httpx.Timeout(30.0, connect=5.0),
        headers={"Accept": MEDIA_TYPE},
        follow_redirects=False,
        trust_env=False,
        event_hooks={"request": [guard_and_sign]},
        limits=httpx.Limits(max_connections=workers * 2, max_keepalive_connections=workers),
        max_attempts=max_attempts,
        base_delay=base_delay,
        budget=budget or Budget(),
        sleep=sleep,
        workers=workers,
    )


def check_key_characters(api_key):
    """Raise InvalidKey unless the key is non-empty printable ASCII (no CR, LF, NUL or spaces)."""
    if not isinstance(api_key, str) or not api_key:
        raise InvalidKey("The API key is empty.")
    if not all("!" <= char <= "~" for char in api_key):
        raise InvalidKey("The API key contains characters that an IT Glue key never has.")


def check_key(base_urls, region, api_key, *, transport=None, timeout=None):
    """Check a key with one cheap request; on a refusal, find which region it belongs to."""
    region_name = REGIONS[region]
    invalid = KeyCheck(
        ok=False,
        problem="invalid",
        message=(
            f"Invalid API key for the {region_name} region. Check that the key was copied in "
            "full, has not been revoked, and that IT Glue's IP Access Control allows this "
            "portal's address."
        ),
    )
    try:
        check_key_characters(api_key)
    except InvalidKey:
        return invalid
    outcome = probe(base_urls[region], api_key, transport=transport, timeout=timeout)
    if outcome == "ok":
        return KeyCheck(ok=True)
    if outcome == "unavailable":
        return KeyCheck(
            ok=False,
            problem="unavailable",
            message=f"IT Glue ({region_name}) could not be reached. Try again in a few minutes.",
        )
    if outcome == "throttled":
        return KeyCheck(
            ok=False,
            problem="unavailable",
            message=(
                f"IT Glue ({region_name}) is limiting requests from this portal right now. "
                "Try again in a few minutes."
            ),
        )
    for other in REGIONS:
        if other == region or other not in base_urls:
            continue
        if probe(base_urls[other], api_key, transport=transport, timeout=timeout) == "ok":
            return KeyCheck(
                ok=False,
                problem="invalid",
                message=(
                    f"This key belongs to the {REGIONS[other]} region. "
                    f"Choose {REGIONS[other]} and try again."
                ),
                belongs_to=other,
            )
    return invalid


def probe(base_url, api_key, *, transport=None, timeout=None):
    """Send one small request and return "ok", "invalid", "throttled" or "unavailable"."""
    timeout = timeout or httpx.Timeout(10.0, connect=5.0)
    try:
        with open_client(base_url, api_key, transport=transport, timeout=timeout) as client:
            response = client.get("/organizations", params={"page[size]": 1})
    except httpx.HTTPError:
        return "unavailable"
    if response.status_code in (401, 403):
        return "invalid"
    if response.status_code == 429:
        return "throttled"
    if response.status_code == 200 and isinstance(parse_json(response), dict):
        return "ok"
    return "unavailable"


def fetch_organizations(client, progress=None):
    """Return every organization of the account."""
    return fetch_all(client, "/organizations", parse_organization, progress)


def fetch_domains(client, progress=None):
    """Return every domain of the account."""
    return fetch_all(client, "/domains", parse_domain, progress)


def fetch_organization_types(client, progress=None):
    """Return the account's organization types."""
    return fetch_all(client, "/organization_types", parse_lookup, progress)


def fetch_organization_statuses(client, progress=None):
    """Return the account's organization statuses."""
    return fetch_all(client, "/organization_statuses", parse_lookup, progress)


def fetch_organization(client, org_id):
    """Return one organization, or None when IT Glue does not know the id."""
    if not str(org_id).isdigit():
        raise ValueError("An IT Glue organization id is a number.")
    try:
        body = request_json(client, f"/organizations/{org_id}")
    except BadResponse as error:
        if error.status == 404:
            return None
        raise
    record = body.get("data")
    return parse_organization(record) if valid_record(record) else None


def fetch_all(client, path, parse, progress=None):
    """Read page 1 to learn the page count, then the other pages concurrently, and parse them."""
    first = request_json(client, path, params=page_params(1))
    total_pages = as_int(dict_at(first, "meta").get("total-pages"))
    if total_pages is None:
        # No usable page count: walk the pages one by one rather than guess.
        pages = [
            parse_page(body, parse, path) for body in follow_pages(client, path, first, progress)
        ]
    else:
        total_pages = max(total_pages, 1)
        total_count = as_int(dict_at(first, "meta").get("total-count"))
        parsed = {1: parse_page(first, parse, path)}
        if progress:
            # total-count lets a caller say "Loaded 3,000 of 10,000 organizations".
            progress = functools.partial(_report, progress, total_count=total_count)
            progress(1, total_pages)
        numbers = range(2, total_pages + 1)
        parsed.update(fetch_pages(client, path, parse, numbers, total_pages, progress))
        pages = [parsed[number] for number in sorted(parsed)]
    return merge_pages(pages, path)


def _report(progress, done, total_pages, *, total_count):
    progress(done, total_pages, total_count)


def fetch_page(client, path, number, parse):
    """Fetch and parse one page; runs in a worker so parsing overlaps other pages' waits."""
    return parse_page(request_json(client, path, params=page_params(number)), parse, path)


def fetch_pages(client, path, parse, numbers, total_pages, progress):
    """Fetch the given page numbers with at most client.workers requests in flight."""
    results = {}
    numbers = list(numbers)
    if not numbers:
        return results
    workers = min(getattr(client, "workers", WORKERS), len(numbers))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="itglue-page") as pool:
        pending = {
            pool.submit(fetch_page, client, path, number, parse): number for number in numbers
        }
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    number = pending.pop(future)
                    results[number] = future.result()
                    if progress:
                        progress(len(results) + 1, total_pages)
        finally:
            for future in pending:
                future.cancel()
    return results


def follow_pages(client, path, first, progress):
    """Walk pages sequentially by links.next (same host only) or meta next-page."""
    pages = [first]
    body = first
    seen = {1}
    while True:
        next_link = dict_at(body, "links").get("next")
        next_page = as_int(dict_at(body, "meta").get("next-page"))
        if isinstance(next_link, str) and next_link:
            body = request_json(client, next_link)
        elif next_page and next_page not in seen:
            seen.add(next_page)
            body = request_json(client, path, params=page_params(next_page))
        else:
            return pages
        pages.append(body)
        if len(pages) > MAX_SEQUENTIAL_PAGES:
            raise BadResponse(f"IT Glue kept sending more pages of {path}; stopped.")
        if progress:
            progress(len(pages), len(pages), None)
        if not isinstance(body.get("data"), list) or not body["data"]:
            return pages


def parse_page(body, parse, path):
    """Return a page's valid records and how many malformed ones were skipped."""
    data = body.get("data")
    if not isinstance(data, list):
        raise BadResponse(f"IT Glue sent a page of {path} without a data list.")
    records = []
    for record in data:
        parsed = parse(record) if valid_record(record) else None
        if parsed is not None:
            records.append(parsed)
    return records, len(data) - len(records)


def merge_pages(pages, path):
    """Join parsed pages in order, dropping records already seen (pages can shift mid-load)."""
    records = []
    seen = set()
    skipped = 0
    for page, page_skipped in pages:
        skipped += page_skipped
        for record in page:
            if record.id not in seen:
                seen.add(record.id)
                records.append(record)
    if skipped:
        log.warning("Skipped %d malformed records from IT Glue %s", skipped, path)
    return records


def page_params(number):
    """Return the query for one page at the maximum page size."""
    return {"page[number]": number, "page[size]": PAGE_SIZE}


def request_json(client, url, params=None):
    """GET a JSON body, retrying 429s, 5xx and network errors; raise ITGlueError otherwise."""
    attempts = getattr(client, "max_attempts", MAX_ATTEMPTS)
    sleep = getattr(client, "sleep", time.sleep)
    budget = getattr(client, "budget", None)
    problem = "no answer"
    for attempt in range(1, attempts + 1):
        if budget is not None:
            budget.acquire(sleep)
        try:
            response = client.get(url, params=params)
        except httpx.TimeoutException:
            problem = "timed out"
            response = None
        except httpx.TransportError:
            problem = "could not connect"
            response = None
        if response is not None:
            status = response.status_code
            if status == 200:
                body = parse_json(response)
                if not isinstance(body, dict):
                    raise BadResponse(f"IT Glue sent a body that is not a JSON object for {url}.")
                return body
            if status in (401, 403):
                raise InvalidKey(
                    "IT Glue refused the API key (HTTP "
                    f"{status}): it may have been revoked, or IP Access Control blocks this portal."
                )
            if status != 429 and status < 500:
                detail = error_detail(response)
                raise BadResponse(f"IT Glue answered HTTP {status} for {url}: {detail}", status)
            problem = f"answered HTTP {status}"
        if attempt == attempts:
            break
        delay = retry_after(response) if response is not None else None
        if delay is None:
            delay = backoff(attempt, getattr(client, "base_delay", BASE_DELAY))
        sleep(delay)
    raise Unavailable(f"IT Glue {problem} for {url} after {attempts} attempts.")


def backoff(attempt, base_delay):
    """Return a capped exponential delay with jitter for the given attempt (1-based)."""
    ceiling = min(MAX_DELAY, base_delay * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def retry_after(response):
    """Return the seconds a 429 asks us to wait (integer or HTTP date), capped, or None."""
    if response.status_code != 429:
        return None
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max((moment - datetime.now(UTC)).total_seconds(), 0.0), MAX_RETRY_AFTER)


def parse_json(response):
    """Return the decoded JSON body, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def error_detail(response):
    """Describe an error body briefly, whatever shape it has (gateway, JSON:API, HTML)."""
    body = parse_json(response)
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return clean_text(body["message"])[:200]
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            parts = [first.get("title"), first.get("detail")]
            text = ": ".join(str(part) for part in parts if isinstance(part, str | int))
            return clean_text(text)[:200] or f"status {first.get('status')}"
    if "html" in response.headers.get("Content-Type", ""):
        return "an HTML error page"
    return "an unexpected body"


def valid_record(record):
    """Return whether a JSON:API record has a string id and an attributes object."""
    return (
        isinstance(record, dict)
        and isinstance(record.get("id"), str)
        and record["id"].strip() != ""
        and isinstance(record.get("attributes"), dict)
    )


def parse_organization(record):
    """Return an Organization, or None when the record has no usable name."""
    attributes = record["attributes"]
    name = clean_text(attributes.get("name"))
    if not name:
        return None
    return Organization(
        id=record["id"],
        name=name,
        type_name=clean_text(attributes.get("organization-type-name")),
        type_id=as_int(attributes.get("organization-type-id")),
        status_name=clean_text(attributes.get("organization-status-name")),
        status_id=as_int(attributes.get("organization-status-id")),
        short_name=clean_text(attributes.get("short-name")),
        updated_at=clean_text(attributes.get("updated-at")),
        parent_id=as_id(attributes.get("parent-id")),
    )


def parse_domain(record):
    """Return a Domain, or None without an organization id or a name."""
    attributes = record["attributes"]
    organization_id = as_id(attributes.get("organization-id"))
    name = clean_text(attributes.get("name"))
    if organization_id is None or not name:
        return None
    return Domain(id=record["id"], organization_id=organization_id, name=name)


def parse_lookup(record):
    """Return a Lookup, or None without a name."""
    name = clean_text(record["attributes"].get("name"))
    return Lookup(id=record["id"], name=name) if name else None


def clean_text(value):
    """Return a string with control characters replaced by spaces, or None for non-strings."""
    # PostgreSQL rejects NUL in text and stray CR/LF breaks logs, so they stop at the seam.
    if not isinstance(value, str):
        return None
    if value.isprintable():
        return value.strip()
    cleaned = "".join(" " if unicodedata.category(char) in ("Cc", "Cf") else char for char in value)
    return " ".join(cleaned.split())


def as_int(value):
    """Return an int from an int or a digit string (never a bool), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def as_id(value):
    """Return an id as a string from an int or a digit string, else None."""
    number = as_int(value)
    return str(number) if number is not None else None


def dict_at(body, key):
    """Return body[key] when it is a dict, else an empty dict."""
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, dict) else {}
