"""The IT Glue Integration tile."""

from flask import Blueprint, current_app, g, render_template

from webapp.auth import partner_required

bp = Blueprint("integrations", __name__, url_prefix="/integrations/itglue")


def tile_context():
    """What every state of the tile needs, for the signed-in user."""
    return {
        "user": g.user,
        "support_email": current_app.config["SUPPORT_EMAIL"],
        "support_phone": current_app.config["SUPPORT_PHONE"],
    }


@bp.get("/tile")
@partner_required
def tile():
    return render_template("integrations/tile_page.html", **tile_context())
