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
        return problem(CSRF_MESSAGE, 400)

    @app.errorhandler(400)
    def bad_request(error):
        return problem(error.description or "That request was not understood.", 400)

    @app.errorhandler(404)
    def not_found(error):
        return problem("Not found.", 404)

    @app.errorhandler(403)
    def forbidden(error):
        return problem(error.description or FORBIDDEN_MESSAGE, 403)

    @app.errorhandler(413)
    def too_large(error):
        return problem("That request is too large.", 413)


def problem(message, status):
    """An error page, or for htmx a toast that never replaces the part of the page it came from."""
    from webapp.fragments import wants_fragment

    if wants_fragment():
        body = render_template("toast.html", message=message)
        return body, status, {"HX-Retarget": "#toasts", "HX-Reswap": "beforeend"}
    return render_template("error.html", message=message), status


CSRF_MESSAGE = "Your session expired or the form was stale. Reload the page and try again."
FORBIDDEN_MESSAGE = "You do not have access to this page."
