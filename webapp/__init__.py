"""The portal's application factory."""

import os
import secrets
from pathlib import Path

from flask import Flask
from flask_htmx import HTMX
from flask_wtf.csrf import CSRFProtect

from webapp import db, queue, security

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "SUPPORT_EMAIL": "support@idagent.com",
    "SUPPORT_PHONE": "844-ID AGENT",
    "ITGLUE_URL_US": "https://api.itglue.com",
    "ITGLUE_URL_EU": "https://api.eu.itglue.com",
    "ITGLUE_URL_AU": "https://api.au.itglue.com",
    "FRAME_ANCESTORS": "",
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "MAX_FORM_PARTS": 5000,
    "WTF_CSRF_TIME_LIMIT": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
}

FROM_ENVIRONMENT = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "ENCRYPTION_KEY",
    "ITGLUE_URL_US",
    "ITGLUE_URL_EU",
    "ITGLUE_URL_AU",
    "FRAME_ANCESTORS",
    "SUPPORT_EMAIL",
)


def create_app(config=None):
    """Build the portal: configuration, database, htmx, CSRF, queue and blueprints."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(DEFAULTS)
    app.config.update({k: os.environ[k] for k in FROM_ENVIRONMENT if os.environ.get(k)})
    app.config.update(config or {})
    app.config.setdefault("DATABASE_URL", f"sqlite:///{Path(app.instance_path) / 'portal.db'}")
    _load_secrets(app)
    if app.config["FRAME_ANCESTORS"]:
        # Inside the portal's iframe the cookie is third-party: it needs SameSite=None, which
        # browsers accept only with Secure, and CHIPS partitioning keeps it to that portal.
        app.config.update(
            SESSION_COOKIE_SAMESITE="None",
            SESSION_COOKIE_SECURE=True,
            SESSION_COOKIE_PARTITIONED=True,
        )

    from webapp.crypto import Keyring

    # Parsed at start so that a malformed master key stops web and worker alike.
    app.extensions["keyring"] = Keyring.parse(app.config["ENCRYPTION_KEY"])
    db.init_app(app)
    HTMX(app)
    CSRFProtect(app)
    queue.init_app(app)
    security.init_app(app)

    from webapp import auth, cli, integrations, organizations, system

    app.register_blueprint(auth.bp)
    app.register_blueprint(integrations.bp)
    app.register_blueprint(organizations.bp)
    app.register_blueprint(system.bp)
    cli.init_app(app)
    return app


def _load_secrets(app):
    """Read SECRET_KEY and ENCRYPTION_KEY, generating them under instance/ only for SQLite."""
    development = app.config["DATABASE_URL"].startswith("sqlite:")
    for name, make in (("SECRET_KEY", secrets.token_hex), ("ENCRYPTION_KEY", _new_master_key)):
        if app.config.get(name):
            continue
        if not development:
            # Generating a fresh master key in production would orphan every stored ciphertext.
            raise RuntimeError(f"{name} must be set when DATABASE_URL is not SQLite")
        path = Path(app.instance_path) / name.lower()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(make())
            path.chmod(0o600)
        app.config[name] = path.read_text().strip()


def _new_master_key():
    from webapp.crypto import generate_master_key

    return generate_master_key()
