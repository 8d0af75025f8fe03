"""The IT Glue Integration tile: connect, load, choose, import, watch, refresh, replace, delete."""

import functools

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from jinja2_fragments.flask import render_block
from peewee import IntegrityError
from redis.exceptions import RedisError

from webapp import queue
from webapp.auth import partner_required
from webapp.db import db, write_transaction
from webapp.fragments import htmx, wants_fragment
from webapp.itglue import client
from webapp.models import (
    EMPLOYEE_COUNTS,
    INDUSTRIES,
    PENDING,
    REGIONS,
    ImportRun,
    Integration,
    ITGlueOrganization,
    OrganizationLink,
    utcnow,
)
from webapp.table import STATES, Table

bp = Blueprint("integrations", __name__, url_prefix="/integrations/itglue")

TILE = "integrations/tile.html"
HOST_PAGES = {
    "organizations.mine": "organizations/mine.html",
    "integrations.tile": "integrations/tile_page.html",
}
MAX_KEY = 512
IMPORT_STARTED = "Import started"


def integration_admin_required(view):
    """Only partner admins whose account has integration access may configure the integration."""

    @partner_required
    @functools.wraps(view)
    def wrapped(**kwargs):
        if not g.user.can_configure_integration:
            abort(403, "Only partner admins with integration access can configure IT Glue.")
        return view(**kwargs)

    return wrapped


def current_integration():
    return Integration.get_or_none(Integration.partner == g.partner)


def host_endpoint():
    """The page the tile sits on (My Organization or the tile alone), from a checked field."""
    endpoint = request.values.get("host", "")
    return endpoint if endpoint in HOST_PAGES else "organizations.mine"


def back(**args):
    return redirect(url_for(host_endpoint(), **args))


def tile_context(*, args=None, **extra):
    """What every state of the tile needs, for the signed-in user and the request's table view."""
    integration = current_integration()
    context = {
        "user": g.user,
        "integration": integration,
        "host": request.endpoint if request.endpoint in HOST_PAGES else host_endpoint(),
        "regions": REGIONS,
        "employee_counts": EMPLOYEE_COUNTS,
        "industries": INDUSTRIES,
        "support_email": current_app.config["SUPPORT_EMAIL"],
        "support_phone": current_app.config["SUPPORT_PHONE"],
        "modal": None,
        "toasts": get_flashed_messages(),
        "table": None,
        "mappings": 0,
        "states": STATES,
        "selected_ids": _ids(",".join(request.values.getlist("selected"))),
    }
    if integration is not None:
        context["mappings"] = integration.links.count()
        if integration.loaded_at is not None:
            context["table"] = Table(
                integration, g.partner, args if args is not None else request.args
            )
    context.update(extra)
    return context


def render_tile(block="itglue_tile", status=200, **extra):
    """The host page with the tile, or one block of the tile for htmx."""
    context = tile_context(**extra)
    if not wants_fragment():
        return make_response(render_template(HOST_PAGES[context["host"]], **context), status)
    body = render_block(TILE, block, **context)
    if context["toasts"]:
        body += render_block(TILE, "itglue_toasts", oob=True, **context)
    return make_response(body, status)


@bp.get("/tile")
@partner_required
def tile():
    return render_tile()


@bp.get("/organizations")
@partner_required
def table():
    """The table alone for htmx (search, filters, sort, pages); the host page otherwise."""
    if not wants_fragment():
        return back(**{k: v for k, v in request.args.items() if k != "host"})
    return render_tile("itglue_results")


@bp.get("/new")
@integration_admin_required
def new():
    if current_integration() is not None:
        return back()
    return render_tile("itglue_modal", modal={"kind": "new", "region": "us", "errors": {}})


@bp.post("")
@integration_admin_required
def create():
    region, api_key, modal = _checked_key("new")
    if modal["errors"]:
        return _modal_error(modal)
    try:
        with write_transaction():
            integration = Integration.create(
                partner=g.partner, region=region, created_by=g.user, **_stored_key(api_key)
            )
    except IntegrityError:
        modal["errors"] = {"form": "This partner already has an IT Glue integration."}
        return _modal_error(modal)
    start_load(integration)
    return _after_change()


@bp.get("/key")
@integration_admin_required
def edit_key():
    integration = current_integration() or abort(404)
    return render_tile(
        "itglue_modal", modal={"kind": "key", "region": integration.region, "errors": {}}
    )


@bp.post("/key")
@integration_admin_required
def update_key():
    integration = current_integration() or abort(404)
    region, api_key, modal = _checked_key("key")
    if modal["errors"]:
        return _modal_error(modal)
    Integration.update(
        region=region, key_updated_at=utcnow(), key_problem=None, **_stored_key(api_key)
    ).where(Integration.id == integration.id).execute()
    start_load(Integration.get_by_id(integration.id))
    flash("API key replaced; loading from IT Glue again.")
    return _after_change()


@bp.get("/progress")
@partner_required
def progress():
    return render_tile()


@bp.post("/refresh")
@integration_admin_required
def refresh():
    integration = current_integration() or abort(404)
    if not integration.loading:
        start_load(integration)
    return _after_change()


@bp.post("/organizations")
@integration_admin_required
def update_rows():
    """Bulk-set Employee Count and Industry on the selected rows."""
    integration = current_integration() or abort(404)
    table = Table(integration, g.partner, request.form)
    rows, error = table.selected_rows(request.form)
    values = {}
    for field, choices in (("employee_count", EMPLOYEE_COUNTS), ("industry", INDUSTRIES)):
        value = request.form.get(f"bulk_{field}", "")
        if value and value not in choices:
            abort(400, f"That is not a valid {field.replace('_', ' ')}.")
        if value:
            values[field] = value
    if error is None and not values:
        error = "Choose an Employee Count or an Industry to set on the selected organizations."
    if error:
        return _table_error(error)
    with db.atomic():
        ITGlueOrganization.update(**values).where(
            ITGlueOrganization.integration == integration,
            ITGlueOrganization.id.in_([r.id for r in rows]),
        ).execute()
    flash(f"Updated {len(rows)} organizations.")
    return _back_to_table()


@bp.post("/imports")
@integration_admin_required
def create_import():
    integration = current_integration() or abort(404)
    table = Table(integration, g.partner, request.form)
    rows, error = table.selected_rows(request.form)
    choices, missing = ({}, {})
    if error is None:
        choices, missing = table.choices_for(rows, request.form)
        if missing:
            error = (
                f"Employee Count and Industry are required for every selected organization; "
                f"{len(missing)} {'is' if len(missing) == 1 else 'are'} missing them."
            )
    if error:
        return _table_error(error, missing)
    started = start_import(integration, rows, choices)
    flash(IMPORT_STARTED if started else "Those organizations are already being imported.")
    return _back_to_table()


@bp.post("/organizations/<int(max=2147483647):row_id>/retry")
@integration_admin_required
def retry(row_id):
    integration = current_integration() or abort(404)
    row = (
        ITGlueOrganization.select()
        .where(ITGlueOrganization.integration == integration, ITGlueOrganization.id == row_id)
        .get_or_none()
    ) or abort(404)
    table = Table(integration, g.partner, request.form)
    choices, missing = table.choices_for([row], request.form)
    if missing:
        return _table_error("Employee Count and Industry are required.", missing)
    started = start_import(integration, [row], choices)
    flash(IMPORT_STARTED if started else "That organization is already being imported.")
    return _back_to_table()


@bp.get("/status")
@partner_required
def status():
    """The poller: final rows since the last poll, swapped in place, and itself while pending."""
    integration = current_integration() or abort(404)
    table = Table(integration, g.partner, request.args)
    requested = _ids(request.args.get("rows", ""))
    if not htmx:
        return back(**table.view_args())
    changed, still_pending = table.poll_rows(requested)
    if requested and not changed and not still_pending:
        abort(404)  # none of these rows is this partner's
    context = {
        "user": g.user,
        "table": table,
        "host": host_endpoint(),
        "changed": changed,
        "pending_ids": still_pending,
        "employee_counts": EMPLOYEE_COUNTS,
        "industries": INDUSTRIES,
        "selected_ids": [],
    }
    body = render_block(TILE, "itglue_status", **context)
    body += render_block(TILE, "itglue_changed_rows", **context)
    if changed:
        context |= {"integration": integration, "mappings": integration.links.count()}
        body += render_block(TILE, "itglue_counter", oob=True, **context)
        body += render_block(TILE, "itglue_summary", oob=True, **context)
    return body


@bp.get("/counter")
@partner_required
def counter():
    """The license counter for the rows ticked in the browser."""
    integration = current_integration() or abort(404)
    context = {
        "table": Table(integration, g.partner, request.args),
        "selected_ids": _ids(",".join(request.args.getlist("selected"))),
    }
    return render_block(TILE, "itglue_counter", **context)


@bp.get("/delete")
@integration_admin_required
def confirm_delete():
    current_integration() or abort(404)
    return render_tile("itglue_modal", modal={"kind": "delete", "errors": {}})


@bp.post("/delete")
@integration_admin_required
def delete():
    integration = current_integration() or abort(404)
    with write_transaction():
        removed = (
            OrganizationLink.delete().where(OrganizationLink.integration == integration).execute()
        )
        integration.delete_instance(recursive=False)
    flash(
        f"IT Glue integration deleted: removed {removed} mapping{'' if removed == 1 else 's'}; "
        "the organizations and their domains stay."
    )
    return _after_change()


def start_load(integration):
    """Number a new load, mark it loading and enqueue it; the job ignores superseded numbers."""
    with write_transaction():
        Integration.update(
            load_number=Integration.load_number + 1,
            load_state="loading",
            load_phase="organizations",
            load_done=0,
            load_total=0,
            load_error=None,
            load_requeues=0,
        ).where(Integration.id == integration.id).execute()
    enqueue_load(Integration.get_by_id(integration.id))


def enqueue_load(integration):
    try:
        queue.enqueue(
            "jobs.itglue.load_organizations",
            integration.id,
            integration.load_number,
            job_id=f"load-{integration.partner_id}-{integration.load_number}",
            job_timeout=1800,
        )
    except RedisError:
        pass  # the row says "loading"; the reconciler enqueues it when Redis is back


def start_import(integration, rows, choices):
    """Mark rows pending (a new attempt each), record the run, then enqueue one job per row."""
    from jobs.imports import enqueue_imports

    started = []
    with write_transaction():
        for row in rows:
            employee_count, industry = choices[row.id]
            updated = (
                ITGlueOrganization.update(
                    status=PENDING,
                    attempt=ITGlueOrganization.attempt + 1,
                    outcome=None,
                    status_changed_at=utcnow(),
                    employee_count=employee_count,
                    industry=industry,
                )
                .where(
                    ITGlueOrganization.id == row.id,
                    (ITGlueOrganization.status.is_null()) | (ITGlueOrganization.status != PENDING),
                )
                .execute()
            )
            if updated:
                started.append(row.id)
        if started:
            ImportRun.create(integration=integration, started_by=g.user, organizations=len(started))
    if started:
        enqueue_imports(ITGlueOrganization.select().where(ITGlueOrganization.id.in_(started)))
    return len(started)


def _checked_key(kind):
    """The form's region and key, checked against IT Glue; errors land in the modal's state."""
    region, api_key, errors = _key_form()
    if not errors:
        check = client.check_key(_base_urls(), region, api_key)
        if not check.ok:
            errors = {"api_key": check.message}
    return region, api_key, {"kind": kind, "region": region, "errors": errors}


def _stored_key(api_key):
    """The columns that keep a checked key: ciphertext bound to the partner, and its hint."""
    keyring = current_app.extensions["keyring"]
    return {
        "encrypted_key": keyring.encrypt(api_key, partner_id=g.partner.id),
        "key_hint": api_key[-4:],
        "last_contact_at": utcnow(),
    }


def _key_form():
    region = request.form.get("region", "")
    api_key = request.form.get("api_key", "").strip()
    errors = {}
    if region not in REGIONS:
        errors["region"] = "Choose a region: United States, Europe or Australia."
        region = "us"
    if not api_key:
        errors["api_key"] = "Enter the API key you generated in IT Glue."
    elif len(api_key) > MAX_KEY or not api_key.isascii() or not api_key.isprintable():
        errors["api_key"] = "That is not an IT Glue API key: it has characters a key never has."
    return region, api_key, errors


def _base_urls():
    return {region: current_app.config[f"ITGLUE_URL_{region.upper()}"] for region in REGIONS}


def _modal_error(modal):
    response = render_tile("itglue_modal", status=422, modal=modal)
    if wants_fragment():
        response.headers["HX-Retarget"] = "#itglue-modal"
        response.headers["HX-Reswap"] = "outerHTML"
    return response


def _table_error(message, missing=None):
    """The table again with what was submitted, the message and each row's missing fields."""
    return render_tile(
        "itglue_table", status=422, args=request.form, submitted=request.form,
        table_error=message, missing=missing or {},
    )  # fmt: skip


def _after_change():
    if wants_fragment():
        return render_tile()
    return back()


def _back_to_table():
    if wants_fragment():
        return render_tile("itglue_table", args=request.form)
    table = Table(current_integration(), g.partner, request.form)
    return back(**table.view_args())


def _ids(text):
    parts = text.split(",")[:200]
    return [int(p) for p in parts if p.isascii() and p.isdigit() and len(p) < 12]
