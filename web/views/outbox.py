"""Administrators' view of the notification outbox: dead and waiting messages, with a retry."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from eva_engine.errors import Conflict, Contended
from eva_engine.rendering.labels import NOTIFICATION_KINDS
from eva_engine.services import paging
from eva_engine.services.notifications import outbox
from eva_engine.vocabulary import DeliveryState
from web.runtime import caller, eva

bp = Blueprint("outbox", __name__, url_prefix="/admin/outbox")

SHOWN = {
    "open": (DeliveryState.DEAD, DeliveryState.PENDING),
    "dead": (DeliveryState.DEAD,),
    "pending": (DeliveryState.PENDING,),
    "delivered": (DeliveryState.DELIVERED,),
}


def kind_name(kind: str) -> str:
    name = {str(k): v for k, v in NOTIFICATION_KINDS.items()}.get(kind)
    return _(name) if name else kind


CURSOR = "outbox-before"  # the pages go from the newest message back


class RetryForm(FlaskForm):
    """Only the CSRF token: the message is named by the URL."""


@bp.get("/")
@login_required
def index() -> str:
    shown = request.args.get("state", "open")
    if shown not in SHOWN:
        shown = "open"
    after = request.args.get("after") or None
    before_id = paging.row_id(paging.parts(CURSOR, after, 1)[0]) if after else None
    messages = outbox.list_messages(
        eva(), caller(), states=SHOWN[shown], limit=paging.PAGE_SIZE + 1, before_id=before_id
    )
    more = len(messages) > paging.PAGE_SIZE
    messages = messages[: paging.PAGE_SIZE]
    return render_template(
        "outbox.html",
        messages=messages,
        next_cursor=paging.cursor(CURSOR, messages[-1].id) if more and messages else None,
        shown=shown,
        choices=list(SHOWN),
        form=RetryForm(),
        kind_name=kind_name,
    )


@bp.post("/<int:message_id>/retry")
@login_required
def retry(message_id: int) -> Response:
    if not RetryForm().validate_on_submit():
        abort(400)
    try:
        outbox.retry(eva(), caller(), message_id)
    except Contended:
        raise  # someone was saving at the same moment: the request is retried as a whole
    except Conflict:
        flash(_("Message %(id)s is not a dead letter; it was not retried.", id=message_id), "error")
    else:
        flash(_("Message %(id)s will be delivered again.", id=message_id), "success")
    return redirect(url_for("outbox.index"))
