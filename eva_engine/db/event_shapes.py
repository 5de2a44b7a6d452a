"""What an audit event records of a row, as pure functions over the row's column values (a
dict), for paths that write rows with SQLAlchemy Core instead of the session (``db.bulk_walk``).

They give the same ``before``/``after`` as the session's audit capture gives for an ORM
object: a created row's every column but the ignored ones (``row_version``, ``updated_at``),
redacted columns as ``<redacted>``, values as JSON (``models.jsonable``); a changed row's
changed columns only. ``tests/test_bulk_walk.py`` walks one proposal both ways and compares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, inspect

from eva_engine.models import Audited, jsonable

REDACTED = "<redacted>"  # as db.audit writes it


_KEYS: dict[type[Audited], tuple[str, ...]] = {}


def column_keys(model: type[Audited]) -> tuple[str, ...]:
    """The model's mapped column attributes the history records, in mapper order."""
    keys = _KEYS.get(model)
    if keys is None:
        keys = _KEYS[model] = tuple(
            a.key for a in inspect(model).column_attrs if a.key not in model.__audit_ignore__
        )
    return keys


def with_defaults(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every column of ``table``: the given values, else the column's Python-side default
    (``default=`` of the model: a constant, or a callable such as ``utcnow`` or ``list``),
    else None. Rows written in one executemany must all name the same columns."""
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.key in values:
            row[column.key] = values[column.key]
            continue
        default = column.default
        value: Any = None
        if default is not None and getattr(default, "is_scalar", False):
            value = default.arg  # type: ignore[attr-defined]
        elif default is not None and getattr(default, "is_callable", False):
            value = default.arg(None)  # type: ignore[attr-defined]
        row[column.key] = value
    return row


_PLAIN = (str, int, float, bool, type(None))


def _json(value: Any) -> Any:
    return value if type(value) in _PLAIN else jsonable(value)


def _value(model: type[Audited], key: str, value: Any) -> Any:
    return REDACTED if key in model.__audit_redact__ and value is not None else _json(value)


def created(model: type[Audited], row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``after`` of a created row (its ``before`` is None)."""
    return {key: _value(model, key, row.get(key)) for key in column_keys(model)}


def changed(
    model: type[Audited], old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``before`` and ``after`` of a changed row: the columns whose JSON value changed."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key in column_keys(model):
        if key not in new:
            continue
        was, now = old.get(key), new[key]
        if was is now or (type(was) is type(now) and was == now) or _json(was) == _json(now):
            continue
        before[key] = _value(model, key, was)
        after[key] = _value(model, key, now)
    return before, after
