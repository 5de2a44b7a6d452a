"""Administration: users and their role grants, and the published workflow versions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from pydantic import ValidationError
from werkzeug.wrappers import Response

from eva_engine.errors import EvaError
from eva_engine.services import definitions, users
from eva_engine.vocabulary import Role
from web.runtime import caller, eva

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@login_required
def index() -> str:
    return render_template(
        "admin.html",
        users=users.list_users(eva(), caller()),
        versions=definitions.published_versions(eva(), caller()),
        roles=list(Role),
    )


@bp.post("/grants")
@login_required
def grant() -> Response:
    form = request.form
    try:
        command = users.GrantRole.model_validate(
            {
                "username": form.get("username", ""),
                "organisation": form.get("organisation", ""),
                "role": form.get("role", ""),
                "body": form.get("body") or None,
            }
        )
        users.grant_role(eva(), caller(), command)
    except ValidationError as exc:
        flash(_("The role was not granted: %(why)s", why=str(exc.errors()[0]["msg"])), "error")
    except EvaError as exc:
        flash(_("The role was not granted: %(why)s", why=exc.message), "error")
    else:
        flash(_("The role was granted."), "success")
    return redirect(url_for("admin.index"))
