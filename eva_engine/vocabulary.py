"""Controlled vocabularies of the domain. Values are stable identifiers stored in the database
and in files; their Finnish, Swedish and English labels live in translations."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PREPARER = "preparer"  # valmistelija
    EXPERT = "expert"  # asiantuntija, hyvinvointikoordinaattori
    PRESENTER = "presenter"  # esittelijä
    SECRETARY = "secretary"  # pöytäkirjanpitäjä, sihteeri
    AUDITOR = "auditor"  # tarkastuslautakunta, sisäinen tarkastus
    ADMIN = "admin"  # pääkäyttäjä


class OrganisationKind(StrEnum):
    MUNICIPALITY = "municipality"  # kunta
    WELLBEING_COUNTY = "wellbeing_county"  # hyvinvointialue


class BodyKind(StrEnum):
    COUNCIL = "council"  # valtuusto
    EXECUTIVE_BOARD = "executive_board"  # kunnanhallitus, aluehallitus
    COMMITTEE = "committee"  # lautakunta
    SUBCOMMITTEE = "subcommittee"  # jaosto
    OFFICE_HOLDER = "office_holder"  # viranhaltija


class Publicity(StrEnum):
    PUBLIC = "public"  # julkinen
    PARTLY_CONFIDENTIAL = "partly_confidential"  # osittain salassa pidettävä
    CONFIDENTIAL = "confidential"  # salassa pidettävä


class ScreeningOutcome(StrEnum):
    EXEMPT = "exempt"  # ei arvioida (perusteltu)
    LIGHT = "light"  # kevyt arviointi
    FULL = "full"  # laaja arviointi


class Direction(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    NONE = "none"
    UNKNOWN = "unknown"


class Magnitude(StrEnum):
    MINOR = "minor"
    MODERATE = "moderate"
    SIGNIFICANT = "significant"


class Duration(StrEnum):
    BUDGET_YEAR = "budget_year"  # talousarviovuosi
    COUNCIL_TERM = "council_term"  # valtuustokausi
    LONGER = "longer"  # pidempi


class Certainty(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class AffectedGroup(StrEnum):
    CHILDREN = "children"
    YOUNG_PEOPLE = "young_people"
    FAMILIES = "families"
    WORKING_AGE = "working_age"
    OLDER_PEOPLE = "older_people"
    DISABLED_PEOPLE = "disabled_people"
    LOW_INCOME = "low_income"
    LANGUAGE_CULTURE_GROUPS = "language_culture_groups"
    AREA = "area"
    STAFF = "staff"
    BUSINESSES = "businesses"
    ALL_RESIDENTS = "all_residents"


class AssignmentState(StrEnum):
    OPEN = "open"
    DONE = "done"
    REASSIGNED = "reassigned"
    CANCELLED = "cancelled"


class MeetingOutcome(StrEnum):
    APPROVED = "approved"  # hyväksytty esityksen mukaisesti
    AMENDED = "amended"  # hyväksytty muutettuna
    TABLED = "tabled"  # pöydälle
    RETURNED = "returned"  # palautettu uudelleen valmisteltavaksi
    REJECTED = "rejected"  # hylätty
    REMOVED = "removed"  # poistettu esityslistalta


class Language(StrEnum):
    FI = "fi"
    SV = "sv"
    EN = "en"


class TokenScope(StrEnum):
    READ = "read"  # read everything the user's grants cover
    WRITE = "write"  # also change it
    SIGN = "sign"  # also sign off as the presenter (granted only explicitly, never by default)


# The key of a notice's payload (outbox row, webhook body) naming the indicator follow-up a
# ``due_soon``/``overdue`` notice is about; rows written before it was renamed carry the old key.
FOLLOW_UP_KEY = "indicator_follow_up"
OLD_FOLLOW_UP_KEY = "follow_up"


class NotificationKind(StrEnum):
    ASSIGNMENT_MADE = "assignment_made"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    RETURNED = "returned"  # returned for revision
    SIGNED_OFF = "signed_off"
    OUTCOME_RECORDED = "outcome_recorded"


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after the last retry: a dead letter for administrators


class FollowUpState(StrEnum):
    OPEN = "open"  # waiting for a result (seuranta kesken)
    DONE = "done"  # a result is recorded and it tells how the impact went
    WAIVED = "waived"  # not followed up, with the reason why (seurannasta luovuttu)


class FollowUpOutcome(StrEnum):
    """How the measured impact compares with the one predicted for the chosen alternative."""

    AS_PREDICTED = "as_predicted"
    BETTER = "better"  # better than predicted
    WORSE = "worse"  # worse than predicted
    CANNOT_TELL_YET = "cannot_tell_yet"  # too early to say: the follow-up stays open


class FollowUpSource(StrEnum):
    """Where a follow-up result comes from; the reference names the exact item."""

    SOTKANET = "sotkanet"  # THL's Sotkanet: the reference is the indicator id
    TEAVIISARI = "teaviisari"  # THL's TEAviisari
    OWN_DATA = "own_data"  # the municipality's or county's own data
    OTHER = "other"


class TextKind(StrEnum):
    """The texts of a proposal as the minutes hold them (docs/workflow.md: who writes which,
    and when)."""

    GROUNDS = "grounds"  # esittelyteksti, perustelut (the presentation text)
    DECISION_PROPOSAL = "decision_proposal"  # päätösehdotus
    DECISION = "decision"  # päätös: as made, with amendments, votes, dissent, who was elected


class TextLanguage(StrEnum):
    """The languages of the minutes: Finnish always, Swedish where the municipality keeps it."""

    FI = "fi"
    SV = "sv"


class CommentTarget(StrEnum):
    """What a reviewer's comment is about: one question, one impact area or the whole
    assessment."""

    QUESTION = "question"
    AREA = "area"
    ASSESSMENT = "assessment"


class CommentStatus(StrEnum):
    OPEN = "open"  # avoin
    RESOLVED = "resolved"  # ratkaistu
