"""Names the whole system shares. Values are the words used in JSON and in the database."""

from enum import StrEnum

from models.rules.bonds import Route
from models.rules.states import LineState, Reason

__all__ = [
    "LineState", "Reason", "Route", "Role", "OrgKind", "RightType", "Direction", "NoticeState",
    "Verdict", "BondKind", "ViewingState", "ShotRequestState", "TaskKind", "TaskState",
    "DocumentKind", "CaseStatus", "BondForm", "CounterBondState", "DisposalMethod", "CostKind",
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
    APPLIED = "applied"  # the application route: the rights holder's own application, awaiting customs' review


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
    DISPOSE = "dispose"  # a confiscated line awaits its disposal (Reg 27)
    SETTLE_BOND = "settle_bond"  # costs charged against the bond, the rest refunded (Reg 25, Meas 35)
    REVIEW_STATEMENT = "review_statement"  # the consignor's statement and evidence (Reg 18, 24(4))
    REVIEW_APPLICATION = "review_application"  # a rights holder's application for detention (Reg 13-15)
    AWAIT_COURT = "await_court"  # detained on application: a court notice within 20 WD, else release (Reg 24(1))
    REFUND_COUNTER_BOND = "refund_counter_bond"  # patent: no court filing within 30 WD (Reg 19, Meas 20)
    RESTART_PROCESS = "restart_process"  # the case's flow run was cancelled or keeps failing: a manager decides


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
    CONFISCATION_DECISION = "confiscation_decision"  # 没收决定书
    TRANSFER_NOTICE = "transfer_notice"  # 移送通知书 (Reg 26)
    REJECTION_NOTICE = "rejection_notice"  # 驳回申请通知书 (Reg 15)


# --- the law after the verdict (issue 12) -----------------------------------------------------------

class BondForm(StrEnum):
    """What customs received as an individual bond (Meas 38)."""

    DEPOSIT = "deposit"  # 保证金
    GUARANTEE = "guarantee"  # 银行保函


class CounterBondState(StrEnum):
    """The consignor's counter-bond for detained patent goods (反担保, Reg 19, Meas 20)."""

    HELD = "held"  # received, the goods released; the rights holder has 30 WD to go to court
    KEPT = "kept"  # the rights holder's court filing arrived in time: customs keeps it for the court
    REFUNDABLE = "refundable"  # 30 WD passed with no court filing: to be refunded (Reg 19)
    REFUNDED = "refunded"  # refunded to the consignor


class DisposalMethod(StrEnum):
    """Reg 27, in the order the law sets."""

    PUBLIC_WELFARE = "public-welfare"  # 转交社会公益机构
    SALE_TO_RIGHTS_HOLDER = "sale-to-rights-holder"  # 有偿转让给权利人
    AUCTION = "auction"  # 消除侵权特征后依法拍卖
    DESTRUCTION = "destruction"  # 予以销毁


class CostKind(StrEnum):
    """Costs charged to the rights holder (Reg 25, Meas 35)."""

    STORAGE = "storage"
    HANDLING = "handling"
    DISPOSAL = "disposal"


