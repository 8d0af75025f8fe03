"""Decide between a whole page and one of its blocks, in one place."""

from flask import current_app, make_response, render_template
from jinja2_fragments.flask import render_block
from werkzeug.local import LocalProxy

# The request's htmx headers, read through the extension the factory installed.
htmx = LocalProxy(lambda: current_app.htmx)


def wants_fragment():
    """A fragment answers only htmx requests that are neither boosted nor history restores."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(template, block, status=200, **context):
    """Render `block` of `template` for an htmx request, else the whole page."""
    if wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response
