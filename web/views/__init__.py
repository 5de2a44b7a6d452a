"""Blueprints of the UI. Views parse input, call one service and render."""

from __future__ import annotations

from flask import Flask

from web.refusals import refused_form
from web.runtime import capabilities
from web.views import (
    admin,
    audit,
    comments,
    editor,
    exchange,
    follow_up,
    language,
    meetings,
    outbox,
    proposals,
    reports,
    tokens,
    work,
)


def init_app(app: Flask) -> None:
    for blueprint in (
        work.bp,
        editor.bp,
        proposals.bp,
        meetings.bp,
        audit.bp,
        admin.bp,
        outbox.bp,
        language.bp,
        tokens.bp,
        exchange.bp,
        reports.bp,
        follow_up.bp,
        comments.bp,
    ):
        app.register_blueprint(blueprint)
    app.jinja_env.globals["capabilities"] = capabilities  # the menu: what this user can do
    app.jinja_env.globals["refused_form"] = refused_form  # a form shown again with its errors
