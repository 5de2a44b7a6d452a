"""The preparer's editor: create a proposal, record the screening, the alternatives and the
impact matrix area by area. Partial work is saved at any time."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from pydantic import ValidationError
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from eva_engine.errors import N_, InvalidInput, Problem, Text, per_language
from eva_engine.services import fields
from eva_engine.services.assessment import documents, editor, screening
from eva_engine.services.assessment.documents import (
    AlternativeIn,
    AnswerIn,
    IndicatorIn,
    MitigationIn,
    SummaryIn,
)
from eva_engine.services.proposals import commands as proposal_commands
from eva_engine.services.proposals import queries as proposal_queries
from eva_engine.vocabulary import (
    AffectedGroup,
    Certainty,
    Direction,
    Duration,
    Magnitude,
    Publicity,
    ScreeningOutcome,
)
from web.forms import AttachmentForm, ProposalForm, ScreeningForm, attach, command_problems
from web.i18n import text, translated
from web.runtime import caller, eva

bp = Blueprint("editor", __name__, url_prefix="/proposals")
MAX_ALTERNATIVES = 4


def _problems(error: ValidationError, prefix: str = "") -> list[Problem]:
    return fields.problems(error, prefix)


# What the matrix form calls an answer's fields, and the pattern of a problem's location there:
# ``question[position].field`` (the form's own cells) or ``answers[index].field`` (the
# service's check of the answers it was sent).
CELL_FIELDS = {"evidence_source": "evidence", "affected_groups": "groups"}
_CELL = re.compile(
    r"(?:answers\[(?P<index>[0-9]+)\]|(?P<question>[^\[]+)\[(?P<pos>[0-9]+)\])(?:\.(?P<field>\w+))?"
)


def _alternative_labels(problems: list[Problem]) -> tuple[list[Problem], dict[str, str]]:
    """The alternatives' problems named as people read them, and the fields they concern."""
    out, anchors = [], {}
    for problem in problems:
        found = re.fullmatch(
            r"(?:alternatives\[([0-9]+)\]\.|)(title|description)-?([0-9]*)", problem.location
        )
        if found is None:
            out.append(problem)
            continue
        position, name = found.group(1) or found.group(3) or "0", found.group(2)
        where = (
            Text(N_("Alternative %(num)s: title"), {"num": int(position)})
            if name == "title"
            else Text(N_("Alternative %(num)s: description"), {"num": int(position)})
        )
        out.append(Problem(problem.location, problem.message, where, problem.what))
        anchors[problem.location] = f"{name}-{position}"
    return out, anchors


def _cell_labels(
    matrix: editor.AreaMatrix, problems: list[Problem], answers: list[AnswerIn]
) -> tuple[list[Problem], dict[str, str]]:
    """The matrix's problems named by the question's text and the alternative (never the
    question's id), each linked to the control it concerns."""
    questions = {q.id: q for t in matrix.topics for q in t.questions}
    out, anchors = [], {}
    for problem in problems:
        found = _CELL.fullmatch(problem.location)
        question_id, position = None, None
        if found and found.group("index") is not None:
            index = int(found.group("index"))
            if index < len(answers):
                question_id, position = answers[index].question, answers[index].alternative
        elif found:
            question_id, position = found.group("question"), int(found.group("pos"))
        question = questions.get(question_id or "")
        if found is None or question is None or position is None:
            out.append(problem)
            continue
        field = found.group("field") or "direction"
        where = Text(
            N_("%(question)s – alternative %(num)s"),
            {**per_language("question", question.text.model_dump()), "num": position},
        )
        out.append(Problem(problem.location, problem.message, where, problem.what))
        anchors[problem.location] = f"{question.id}--{position}--{CELL_FIELDS.get(field, field)}"
    return out, anchors


def _status(problems: list[Problem] | None = None, form: Any = None) -> int:
    """422 for a form that came back with problems (each named at its field), else 200."""
    return 422 if problems or (form is not None and form.errors) else 200


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create() -> tuple[str, int] | Response:
    choices = editor.creation_choices(eva(), caller())
    form = ProposalForm()
    form.body.choices = [SelectChoice(b.code, f"{b.code} – {b.name}") for b in choices.bodies]
    form.presenter.choices = [SelectChoice(p.code, p.name) for p in choices.presenters]
    if form.is_submitted():
        # Every problem at once: the form's own checks and the command's, each at its field.
        valid = form.validate()
        command, problems = command_problems(
            lambda: proposal_commands.CreateProposal.model_validate(
                {
                    "organisation": choices.organisation,
                    "case_number": form.case_number.data or "",
                    "title_fi": form.title_fi.data or "",
                    "title_sv": form.title_sv.data or None,
                    "body": form.body.data or "",
                    "presenter": form.presenter.data or "",
                    "publicity": form.publicity.data or Publicity.PUBLIC.value,
                    "confidentiality_ground": form.ground.data or None,
                }
            )
        )
        if valid and command is not None:
            try:
                view = proposal_commands.create_proposal(eva(), caller(), command)
            except InvalidInput as exc:
                problems = exc.problems
            else:
                flash(_("The proposal was created."), "success")
                for warning in view.warnings:  # accepted, but worth a look (a duplicate number)
                    flash(translated(warning.what) if warning.what else warning.message, "warning")
                return redirect(url_for("proposals.show", proposal_id=view.id))
        attach(form, problems, PROPOSAL_FIELDS)
    return render_template("proposal_new.html", form=form), _status(form=form)


# The command's fields by the names of the new proposal form's.
PROPOSAL_FIELDS = {"confidentiality_ground": "ground", "preparer": "presenter"}


@bp.route("/<int:proposal_id>/screening", methods=["GET", "POST"])
@login_required
def record_screening(proposal_id: int) -> tuple[str, int] | Response:
    view = proposal_queries.show(eva(), caller(), proposal_id)
    options = editor.screening_choices(eva(), caller(), proposal_id)
    form = ScreeningForm()
    form.criteria.choices = [SelectChoice(c.id, text(c.text)) for c in options.criteria]
    form.exemption.choices = [
        SelectChoice("", "–"),
        *(SelectChoice(e.id, text(e.text)) for e in options.exemptions),
    ]
    if request.method == "GET" and view.screening:
        form.outcome.data = view.screening.outcome.value
        form.criteria.data = view.screening.criteria
        form.exemption.data = view.screening.exemption or ""
        form.reason.data = view.screening.reason
        form.participation_plan.data = view.screening.participation_plan
    if form.validate_on_submit():
        try:
            screening.record_screening(
                eva(),
                caller(),
                screening.RecordScreening(
                    proposal_id=proposal_id,
                    outcome=ScreeningOutcome(form.outcome.data),
                    criteria=form.criteria.data or [],
                    exemption=form.exemption.data or None,
                    reason=form.reason.data,
                    participation_plan=form.participation_plan.data,
                    expected_version=fields.parse_int(form.version.data),
                ),
            )
        except InvalidInput as exc:
            attach(form, exc.problems)
        else:
            flash(_("The screening was saved."), "success")
            return redirect(url_for("proposals.show", proposal_id=proposal_id))
    form.version.data = str(view.row_version)
    return render_template("screening.html", p=view, form=form, options=options), _status(form=form)


@bp.route("/<int:proposal_id>/alternatives", methods=["GET", "POST"])
@login_required
def alternatives(proposal_id: int) -> tuple[str, int] | Response:
    problems: list[Problem] = []
    if request.method == "POST":
        chosen = request.form.get("chosen", "")
        rows = []
        for position in range(MAX_ALTERNATIVES):
            title = request.form.get(f"title-{position}", "").strip()
            if title:
                try:
                    rows.append(
                        AlternativeIn(
                            position=position,
                            title=title,
                            description=request.form.get(f"description-{position}", "").strip()
                            or None,
                            chosen=chosen == str(position),
                        )
                    )
                except ValidationError as exc:
                    problems += _problems(exc, f"alternatives[{position}]")
        try:
            if problems:
                raise documents.nothing_saved(problems)
            if not rows:
                one = Text(N_("Give at least one alternative."))
                raise InvalidInput(one, [Problem.of("title-0", one)])
            documents.save_alternatives(
                eva(), caller(), proposal_id, rows, _version(request.form.get("version"))
            )
        except InvalidInput as exc:
            problems = exc.problems
        else:
            flash(_("The alternatives were saved."), "success")
            return redirect(url_for("editor.area", proposal_id=proposal_id))
    matrix = editor.area_matrix(eva(), caller(), proposal_id, None)
    view = proposal_queries.show(eva(), caller(), proposal_id)
    problems, anchors = _alternative_labels(problems)
    return render_template(
        "alternatives.html",
        p=view,
        matrix=matrix,
        problems=problems,
        anchors=anchors,
        slots=range(MAX_ALTERNATIVES),
    ), _status(problems)


def _version(value: str | None) -> int | None:
    return fields.parse_int(value)


def _cell(form: Any, question: str, position: int) -> AnswerIn | None:
    """One matrix cell from the form; None when its direction is left empty."""
    prefix = f"{question}--{position}--"
    direction = form.get(prefix + "direction", "")
    if not direction:
        return None
    return AnswerIn(
        question=question,
        alternative=position,
        direction=Direction(direction),
        magnitude=Magnitude(form[prefix + "magnitude"]) if form.get(prefix + "magnitude") else None,
        duration=Duration(form[prefix + "duration"]) if form.get(prefix + "duration") else None,
        certainty=Certainty(form[prefix + "certainty"]) if form.get(prefix + "certainty") else None,
        evidence_source=form.get(prefix + "evidence", "").strip() or None,
        affected_groups=[AffectedGroup(g) for g in form.getlist(prefix + "groups")],
        justification=form.get(prefix + "justification", "").strip() or None,
    )


# The fields of one matrix cell as the form names them (``question--position--field``).
CELL_INPUTS = ("direction", "magnitude", "duration", "certainty", "evidence", "justification")


def _typed(form: Any, question: str, position: int) -> bool:
    """Whether anything is typed or chosen in this cell beyond its direction."""
    prefix = f"{question}--{position}--"
    return any(form.get(prefix + name, "").strip() for name in CELL_INPUTS) or bool(
        form.getlist(prefix + "groups")
    )


def _section_cells(
    form: Any, matrix: editor.AreaMatrix, questions: list[str]
) -> tuple[list[AnswerIn], list[tuple[str, int]]]:
    """The answers and the emptied cells of these questions, as the form sends them. A cell
    with ratings or text but no direction is refused at its direction (never dropped)."""
    answers: list[AnswerIn] = []
    cleared: list[tuple[str, int]] = []
    for question in questions:
        for alternative in matrix.alternatives:
            where = f"{question}[{alternative.position}]"
            try:
                cell = _cell(form, question, alternative.position)
            except ValidationError as exc:
                raise documents.nothing_saved(_problems(exc, where)) from exc
            if cell is not None:
                answers.append(cell)
            elif _typed(form, question, alternative.position):
                choose = Text(N_("Choose the direction of the impact, or empty the other fields."))
                raise documents.nothing_saved([Problem.of(where + ".direction", choose)])
            else:
                cleared.append((question, alternative.position))
    return answers, cleared


def _unsaved(form: Any, matrix: editor.AreaMatrix, saved: set[str]) -> bool:
    """Whether the form holds changes in questions other than those just saved."""
    for question in matrix.questions():
        if question.id in saved:
            continue
        for alternative in matrix.alternatives:
            if f"{question.id}--{alternative.position}--direction" not in form:
                continue
            stored = matrix.cells.get(question.id, {}).get(alternative.position)
            try:
                posted = _cell(form, question.id, alternative.position)
            except (ValueError, ValidationError):
                return True
            if posted is None:
                if stored is not None or _typed(form, question.id, alternative.position):
                    return True
            elif posted != stored:
                return True
    return False


@bp.route("/<int:proposal_id>/areas/", methods=["GET"], defaults={"area_id": None})
@bp.route("/<int:proposal_id>/areas/<area_id>", methods=["GET", "POST"])
@login_required
def area(proposal_id: int, area_id: str | None) -> tuple[str, int] | Response:
    """One impact area as a matrix per question (rows: the ratings, columns: the
    alternatives), the whole area or one question at a time (``?question=``). Each question
    has its own save button (``save=<question id>``, or ``all``); what is typed in the other
    questions is shown again, unsaved, rather than lost."""
    matrix = editor.area_matrix(eva(), caller(), proposal_id, area_id)
    ids = [q.id for q in matrix.questions()]
    one = request.values.get("question") or None
    if one not in ids:
        one = None
    problems: list[Problem] = []
    answers: list[AnswerIn] = []
    posted: Any = None
    if request.method == "POST":
        posted = request.form
        chosen = posted.get("save", "all")
        section = (
            [chosen]
            if chosen in ids
            else [q for q in ids if any(k.startswith(f"{q}--") for k in posted)]
        )
        try:
            answers, cleared = _section_cells(posted, matrix, section)
            documents.save_answers(
                eva(), caller(), proposal_id, answers, cleared, _version(posted.get("version"))
            )
        except ValueError:  # a choice that is not on the form
            problems = [Problem.of("", Text(N_("A choice on the form is not one of its options.")))]
        except InvalidInput as exc:
            problems = exc.problems
        else:
            saved = editor.area_matrix(eva(), caller(), proposal_id, matrix.area.id)
            incomplete = sum(1 for q in section for gaps in saved.gaps.get(q, {}).values() if gaps)
            if incomplete:
                flash(
                    _(
                        "Saved, but %(num)d answers are incomplete: see the warnings at the"
                        " fields.",
                        num=incomplete,
                    ),
                    "warning",
                )
            else:
                flash(_("Saved."), "success")
            anchor = f"q-{section[0]}" if len(section) == 1 else None
            if _unsaved(posted, saved, set(section)):
                # Another question has typed changes: show them again rather than lose them.
                flash(
                    _("Other questions on this page have changes that are not saved yet."),
                    "warning",
                )
                matrix = saved
            else:
                return redirect(
                    url_for(
                        "editor.area",
                        proposal_id=proposal_id,
                        area_id=matrix.area.id,
                        question=one,
                        _anchor=anchor,
                    )
                )
    problems, anchors = _cell_labels(matrix, problems, answers)
    return _area_page(matrix, one=one, posted=posted, problems=problems, anchors=anchors), _status(
        problems
    )


def _area_page(
    matrix: editor.AreaMatrix,
    *,
    one: str | None = None,
    posted: Any = None,
    problems: list[Problem] | None = None,
    anchors: dict[str, str] | None = None,
    evidence_form: AttachmentForm | None = None,
    evidence_failure: Exception | None = None,
) -> str:
    return render_template(
        "area.html",
        m=matrix,
        one=one,
        ids=[q.id for q in matrix.questions()],
        posted=posted,
        problems=problems or [],
        anchors=anchors or {},
        directions=list(Direction),
        magnitudes=list(Magnitude),
        durations=list(Duration),
        certainties=list(Certainty),
        groups=list(AffectedGroup),
        evidence_form=evidence_form or AttachmentForm(formdata=None),
        evidence_failure=evidence_failure,
    )


def area_page(proposal_id: int, area_id: str) -> str:
    """The area's page as it is now (another view's form refused on it: the review
    comments')."""
    return _area_page(editor.area_matrix(eva(), caller(), proposal_id, area_id))


def evidence_page(proposal_id: int, area_id: str, form: AttachmentForm, failure: Exception) -> str:
    """The area page again with the evidence upload's problems (the upload view's 422)."""
    return _area_page(
        editor.area_matrix(eva(), caller(), proposal_id, area_id),
        evidence_form=form,
        evidence_failure=failure,
    )


@bp.route("/<int:proposal_id>/follow-up", methods=["GET", "POST"])
@login_required
def follow_up(proposal_id: int) -> tuple[str, int] | Response:
    """Mitigations of negative impacts, follow-up indicators and the summary."""
    problems: list[Problem] = []
    if request.method == "POST":
        form = request.form
        version = _version(form.get("version"))
        action = form.get("action", "")
        try:
            if action == "summary":
                summary = fields.check_field(SummaryIn, "summary", form.get("summary") or None)
                documents.save_summary(eva(), caller(), proposal_id, summary, version)
            elif action in ("add-mitigation", "remove-mitigation"):
                mitigation = MitigationIn.model_validate(
                    {
                        "question": form.get("question", ""),
                        "alternative": form.get("alternative") or None,
                        "description": form.get("description", "").strip() or "-",
                        "responsible": form.get("responsible", "").strip() or None,
                    }
                )
                documents.save_mitigation(
                    eva(),
                    caller(),
                    proposal_id,
                    mitigation,
                    remove=action == "remove-mitigation",
                    expected_version=version,
                )
            elif action in ("add-indicator", "remove-indicator"):
                indicator = IndicatorIn.model_validate(
                    {
                        "name": form.get("name", "").strip(),
                        "source": form.get("source", "").strip() or None,
                        "responsible": form.get("responsible", "").strip(),
                        "due": form.get("due", ""),
                    }
                )
                documents.save_indicator(
                    eva(),
                    caller(),
                    proposal_id,
                    indicator,
                    remove=action == "remove-indicator",
                    expected_version=version,
                )
        except ValidationError as exc:
            problems = _problems(exc)
        except InvalidInput as exc:
            problems = exc.problems
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("editor.follow_up", proposal_id=proposal_id))
    view = proposal_queries.show(eva(), caller(), proposal_id)
    doc = documents.export_document(eva(), caller(), proposal_id)
    return render_template(
        "follow_up.html",
        p=view,
        doc=doc,
        problems=problems,
        alternatives=doc.alternatives,
        questions=editor.question_texts(eva(), caller(), proposal_id),
    ), _status(problems)
