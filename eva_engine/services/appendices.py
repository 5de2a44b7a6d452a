"""A meeting's printed material: the agenda with its items' assessment summaries as numbered
appendices (*liite* 1, 2, …). Above both the meetings and the exchange packages, which never
import each other, so that the page reads them in one unit of work."""

from __future__ import annotations

from eva_engine.services.exchange.summaries import SummaryView, summaries_in
from eva_engine.services.meetings.agendas import AgendaView, agenda_in
from eva_engine.services.runtime import Caller, Eva


def agenda_appendices(
    eva: Eva, caller: Caller, meeting_id: int
) -> tuple[AgendaView, list[SummaryView]]:
    """A meeting's agenda and its items' summaries in agenda order, read in one unit of work;
    the agenda checks the caller as ``agendas.agenda`` does, each summary as ``summaries_of``."""
    with eva.reading() as uow:
        view = agenda_in(uow.repos, caller, meeting_id)
        return view, summaries_in(uow, caller, [item.proposal_id for item in view.items])
