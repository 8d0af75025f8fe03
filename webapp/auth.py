"""Sign-in, sign-out, the signed-in user and the role checks every route uses."""

import functools

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for

from webapp.fragments import htmx
from webapp.models import User

bp = Blueprint("auth", __name__)

BAD_CREDENTIALS = "Incorrect email or password."
MAX_FIELD = 1024


@bp.before_app_request
def load_user():
    user_id = session.get("user_id")
    g.user = User.get_or_none(User.id == user_id) if user_id else None
    if user_id and g.user is None:
        session.clear()
    g.partner = g.user.partner if g.user and g.user.partner_id else None


def login_required(view):
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.user is None:
            target = url_for("auth.login", next=request.path)
            if htmx:
                # An htmx request (a poller, say) must not swap a login form into the page.
                return "", 401, {"HX-Redirect": target}
            return redirect(target)
        return view(**kwargs)

    return wrapped


def partner_required(view):
    """Any signed-in partner user (admin or not); support staff have no partner here."""

    @login_required
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.partner is None:
            abort(403)
        return view(**kwargs)

    return wrapped


def admin_required(view):
    @partner_required
    @functools.wraps(view)
    def wrapped(**kwargs):
        if not g.user.is_admin:
            abort(403, "Only partner admins can do this.")
        return view(**kwargs)

    return wrapped


def support_required(view):
    @login_required
    @functools.wraps(view)
    def wrapped(**kwargs):
        if not g.user.is_support:
            abort(403)
        return view(**kwargs)

    return wrapped


@bp.get("/")
def index():
    if g.user is None:
        return redirect(url_for("auth.login"))
    if g.user.is_support:
        return redirect(url_for("system.index"))
    return redirect(url_for("organizations.mine"))


@bp.get("/login")
def login_form():
    return render_template("auth/login.html", email="", error=None, next=_safe_next())


@bp.post("/login")
def login():
    email = request.form.get("email", "")[:MAX_FIELD]
    password = request.form.get("password", "")[:MAX_FIELD]
    user = User.authenticate(email, password) if email and password else None
    if user is None:
        return (
            render_template(
                "auth/login.html", email=email, error=BAD_CREDENTIALS, next=_safe_next()
            ),
            401,
        )
    session.clear()
    session["user_id"] = user.id
    return redirect(_safe_next() or url_for("auth.index"))


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("auth.login"))


def _safe_next():
    """Only a local path may be a redirect target after sign-in."""
    target = request.values.get("next", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None
