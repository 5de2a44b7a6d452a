"""Several lists of rows in one statement: each list a scalar subquery that aggregates its rows
into one JSON array (SQLite's ``json_group_array``/``json_object``, PostgreSQL's
``json_agg``/``json_build_object``), read back into entities of the model that belong to no
session (for checks that only read them)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import Enum as PyEnum
from typing import Any, TypeVar

from sqlalchemy import JSON, Boolean, ColumnElement, Date, DateTime, Enum, func, literal, select
from sqlalchemy.sql.selectable import ScalarSelect

T = TypeVar("T")


def json_rows(model: type[Any], where: ColumnElement[bool], dialect: str) -> ScalarSelect[Any]:
    """The rows of ``model`` that match ``where``, as one JSON array of objects (NULL: none)."""
    table = model.__table__
    pairs: list[Any] = []
    for column in table.columns:
        value: Any = column
        if dialect == "sqlite" and isinstance(column.type, JSON):
            value = func.json(column)  # the stored text as JSON, not as a string
        pairs += [literal(column.name), value]
    if dialect == "postgresql":
        aggregate = func.json_agg(func.json_build_object(*pairs))
    else:
        aggregate = func.json_group_array(func.json_object(*pairs))
    return select(aggregate).select_from(table).where(where).scalar_subquery()


def entities(model: type[T], value: Any) -> list[T]:
    """The entities a ``json_rows`` array holds, each column read back to its Python type."""
    if value is None:
        return []
    items = json.loads(value) if isinstance(value, str) else value
    columns = model.__table__.columns  # type: ignore[attr-defined]
    return [model(**{c.key: _typed(c.type, item.get(c.name)) for c in columns}) for item in items]


def _typed(type_: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(type_, Enum) and type_.enum_class is not None:
        enum_class: type[PyEnum] = type_.enum_class
        return enum_class(value)
    if isinstance(type_, Boolean):
        return bool(value)
    if isinstance(type_, JSON):
        return json.loads(value) if isinstance(value, str) else value
    return _moment(getattr(type_, "impl", type_), value)


def _moment(type_: Any, value: Any) -> Any:
    """A time or day as its Python type (both backends give ISO 8601 text)."""
    if isinstance(type_, DateTime):
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if isinstance(type_, Date):
        return date.fromisoformat(value)
    return value
