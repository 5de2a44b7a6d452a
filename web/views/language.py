"""Switching the language (remembered for the user)."""

from __future__ import annotations

from flask import Blueprint, redirect, session
from flask_login import current_user
from werkzeug.wrappers import Response

from eva_engine.services.people import accounts
from eva_engine.vocabulary import Language
from web.auth import _safe_next
from web.forms import LanguageForm
from web.runtime import eva

bp = Blueprint("language", __name__)


@bp.post("/language")
def switch() -> Response:
    form = LanguageForm()
    if form.validate_on_submit() and form.lang.data:
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            accounts.set_language(eva(), current_user.user.id, Language(form.lang.data))
    return redirect(_safe_next(form.next.data))
