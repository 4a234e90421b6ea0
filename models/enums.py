"""Names the whole system shares. Values are the words used in JSON and in the database."""

from enum import StrEnum

from models.rules.bonds import Route
from models.rules.states import LineState, Reason

__all__ = [
    "LineState", "Reason", "Route", "Role", "OrgKind", "RightType", "Direction", "NoticeState",
    "Verdict", "BondKind", "ViewingState", "ShotRequestState", "TaskKind", "TaskState",
    "DocumentKind", "CaseStatus",
]


class Role(StrEnum):
    SITE_OFFICER = "site_officer"  # 查验现场关员
    IPR_OFFICER = "ipr_officer"  # 综合业务处 / 法规部门
    MANAGER = "manager"
    ADMIN = "admin"
    RIGHTS_HOLDER = "rights_holder"  # 权利人 or its agent
    CONSIGNOR = "consignor"  # 收发货人
    SYSTEM = "system"  # the system itself: timers, flows

    @property
    def is_customs(self) -> bool:
        return self in {Role.SITE_OFFICER, Role.IPR_OFFICER, Role.MANAGER, Role.ADMIN, Role.SYSTEM}


class OrgKind(StrEnum):
    CUSTOMS_OFFICE = "customs_office"
    RIGHTS_HOLDER = "rights_holder"
    CONSIGNOR = "consignor"


class RightType(StrEnum):
    TRADEMARK = "trademark"
    COPYRIGHT = "copyright"
    PATENT = "patent"


class Direction(StrEnum):
    EXPORT = "export"
    IMPORT = "import"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # every line is in a terminal state


class NoticeState(StrEnum):
    ISSUED = "issued"  # written, not yet served: no clock yet
    SERVED = "served"  # the 3-working-day clock runs
    CLAIM_PENDING = "claim-pending"  # detention applied for, bond not yet sufficient
    ANSWERED = "answered"  # every line decided by the rights holder
    EXPIRED = "expired"  # the deadline passed; lines released by the system
    WITHDRAWN = "withdrawn"  # every line released at confirmation (no match): never served


class Verdict(StrEnum):
    INFRINGING = "infringing"
    NOT_INFRINGING = "not-infringing"


class BondKind(StrEnum):
    GENERAL = "general"  # 总担保
    INDIVIDUAL = "individual"


class ViewingState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REFUSED = "refused"
    OPEN = "open"
    CLOSED = "closed"


class ShotRequestState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CANCELLED = "cancelled"


class TaskKind(StrEnum):
    CONFIRM_SEIZURE = "confirm_seizure"
    APPROVE_VIEWING = "approve_viewing"
    ATTEND_VIEWING = "attend_viewing"
    CHECK_BOND = "check_bond"
    SIGN_DETENTION = "sign_detention"
    INVESTIGATE = "investigate"
    SERVE_MANUALLY = "serve_manually"
    LOAD_CALENDAR = "load_calendar"  # a clock needs a year whose schedule is not loaded


class TaskState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class DocumentKind(StrEnum):
    CONFIRMATION_NOTICE = "confirmation_notice"  # 确权通知书
    DETENTION_NOTICE = "detention_notice"  # 扣留通知书
    DETENTION_RECEIPT = "detention_receipt"  # 扣留凭单
    RELEASE_NOTICE = "release_notice"  # 放行通知书
    UNDETERMINED_NOTICE = "undetermined_notice"  # 不能认定通知书
