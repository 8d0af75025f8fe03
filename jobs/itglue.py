"""Loading the partner's IT Glue organizations and domains into the snapshot."""

import functools
import logging

from flask import current_app

from webapp.crypto import DecryptError
from webapp.itglue import client
from webapp.models import Integration, utcnow
from webapp.snapshot import store

log = logging.getLogger(__name__)

KEY_UNREADABLE = "The stored API key can no longer be read. Enter the key again."


def load_organizations(integration_id, load_number):
    """Fetch everything from IT Glue and store it; only the newest requested load may run."""
    integration = Integration.get_or_none(Integration.id == integration_id)
    if integration is None or integration.load_number != load_number:
        return "superseded"
    if integration.load_state != "loading":
        return "done"
    try:
        api_key = current_app.extensions["keyring"].decrypt(
            integration.encrypted_key, partner_id=integration.partner_id
        )
    except DecryptError:
        return _fail(integration, load_number, KEY_UNREADABLE, key_problem=True)
    try:
        organizations, itglue_domains = fetch(integration, load_number, api_key)
    except client.InvalidKey:
        message = (
            f"IT Glue refused the API key for the {integration.region_name} region: it may have "
            "been revoked (IT Glue revokes keys unused for 90 days), or IT Glue's IP Access "
            "Control does not allow this portal's address. Replace the key to continue."
        )
        return _fail(integration, load_number, message, key_problem=True)
    except client.ITGlueError as error:
        return _fail(integration, load_number, str(error))
    _progress(integration.id, load_number, "saving", 0, 1)
    store(integration, load_number, organizations, itglue_domains)
    Integration.update(
        load_state="loaded",
        load_phase=None,
        load_error=None,
        key_problem=None,
        loaded_at=utcnow(),
        last_contact_at=utcnow(),
        baseline_load=integration.loaded_load,
        loaded_load=load_number,
    ).where(Integration.id == integration.id, Integration.load_number == load_number).execute()
    return f"{len(organizations)} organizations, {len(itglue_domains)} domains"


def fetch(integration, load_number, api_key):
    config = current_app.config
    base_url = config[f"ITGLUE_URL_{integration.region.upper()}"]
    with client.open_client(base_url, api_key) as itglue:
        organizations = client.fetch_organizations(
            itglue,
            progress=functools.partial(_progress, integration.id, load_number, "organizations"),
        )
        itglue_domains = client.fetch_domains(
            itglue, progress=functools.partial(_progress, integration.id, load_number, "domains")
        )
    return organizations, itglue_domains


def _progress(integration_id, load_number, phase, pages_done, pages, count=None):
    """Record progress in records when IT Glue gave a total count, else in pages."""
    done, total = pages_done, pages
    if count is not None:
        done, total = min(pages_done * client.PAGE_SIZE, count), count
    Integration.update(load_phase=phase, load_done=done, load_total=total).where(
        Integration.id == integration_id, Integration.load_number == load_number
    ).execute()


def _fail(integration, load_number, message, key_problem=False):
    log.warning(
        "IT Glue load %s of integration %s failed: %s", load_number, integration.id, message
    )
    Integration.update(
        load_state="failed",
        load_phase=None,
        load_error=message,
        key_problem=message if key_problem else None,
    ).where(Integration.id == integration.id, Integration.load_number == load_number).execute()
    return "failed"
