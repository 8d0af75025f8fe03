"""Response headers that keep pages out of foreign frames and caches, and the CSRF error page."""

from flask import render_template, request
from flask_wtf.csrf import CSRFError

# The tile, and the sign-in it needs inside the portal's iframe, may be framed by the portal.
FRAMEABLE_BLUEPRINTS = {"integrations"}
FRAMEABLE_ENDPOINTS = {"auth.login_form", "auth.login", "auth.logout", "static"}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; connect-src 'self'; frame-ancestors {ancestors}"
)


def init_app(app):
    ancestors = " ".join(app.config["FRAME_ANCESTORS"].split()) or "'none'"

    @app.after_request
    def set_headers(response):
        frameable = (
            request.blueprint in FRAMEABLE_BLUEPRINTS or request.endpoint in FRAMEABLE_ENDPOINTS
        )
        csp = CONTENT_SECURITY_POLICY.format(ancestors=ancestors if frameable else "'none'")
        response.headers["Content-Security-Policy"] = csp
        if not frameable or ancestors == "'none'":
            response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
            response.vary.add("HX-Request")
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return render_template("error.html", message=CSRF_MESSAGE), 400

    @app.errorhandler(404)
    def not_found(error):
        return render_template("error.html", message="Not found."), 404

    @app.errorhandler(403)
    def forbidden(error):
        return render_template("error.html", message=error.description or FORBIDDEN_MESSAGE), 403

    @app.errorhandler(413)
    def too_large(error):
        return render_template("error.html", message="That request is too large."), 413


CSRF_MESSAGE = "Your session expired or the form was stale. Reload the page and try again."
FORBIDDEN_MESSAGE = "You do not have access to this page."
