"""Legal documents (法律文书): issued once, stored as evidence, readable only by those entitled.

A document is issued once per (notice or decision, kind, addressee): its number is derived from those
three, so asking again returns the document already issued and two concurrent requests cannot issue
two. The PDF is rendered from the database alone: its date, its PDF creation date and the
``Document.issued_at`` are the act's own time (the notice's issue, the decision's moment), never the
clock, so the same act always renders to the same bytes. The timeline entry carries the moment the
file was actually produced. The PDF is stored in the evidence store under
``documents/<case>/<number>.pdf`` with its SHA-256 and size in the ``Document`` row, written to the
timeline, and announced on the outbox as ``document.issued`` (the process then serves it:
``services.delivery``).

Which documents, to whom:

| source | kind | addressee |
|---|---|---|
| confirmation notice | 确权通知书 confirmation_notice | the rights holder |
| decision "released" | 放行通知书 release_notice | each rights holder of the lines, and the consignor (unless the goods were never held on an application) |
| decision "detained" | 扣留通知书 detention_notice / 扣留凭单 detention_receipt | the rights holder / the consignor; on application with the 20-working-day court clock (Reg 15, 24(1)) |
| decision "undetermined" | 不能认定通知书 undetermined_notice | the rights holder and the consignor (Reg 20, Meas 28) |
| decision "confiscated" | 没收决定书 confiscation_decision | the rights holder and the consignor |
| decision "transferred" | 案件移送告知书 transfer_notice | the rights holder and the consignor |
| application rejected | 驳回扣留申请通知书 rejection_notice | the applicant only (Reg 15) |

The modules, by what they do: ``wording`` (titles, statutes, dates, money: values in, text out),
``drafting`` (a case's facts, a document's number, particulars and goods table), ``planning`` (which
documents an act calls for and what each says), ``storage`` (the evidence store, read back against the
recorded hash), ``issuing`` (render, store and record, once per number) and ``reading`` (who may read
what, and the public verification). The names below are this package's interface; import them from
here.
"""

from __future__ import annotations

from services.documents.drafting import Planned, document_number, verify_url
from services.documents.issuing import PDF, issue_for_decision, issue_for_notice
from services.documents.planning import plan_confirmation, plan_decision
from services.documents.reading import (
    VerifyIn,
    document_bytes,
    documents_of_case,
    find_document,
    may_read,
    verify_document,
)
from services.documents.storage import (
    DocumentAltered,
    SealRef,
    StoreMismatch,
    load_seal,
    read_stored,
    seal_ref,
)
from services.documents.wording import (
    KIND_CODE,
    MEAS,
    MEAS_EN,
    REG,
    REG_EN,
    STATUTES,
    TITLES,
    cite_once,
    en_date,
    zh_date,
)

__all__ = [
    "KIND_CODE", "MEAS", "MEAS_EN", "PDF", "REG", "REG_EN", "STATUTES", "TITLES", "DocumentAltered", "Planned",
    "SealRef", "StoreMismatch", "VerifyIn", "cite_once", "document_bytes", "document_number",
    "documents_of_case", "en_date", "find_document", "issue_for_decision", "issue_for_notice", "load_seal",
    "may_read", "plan_confirmation", "plan_decision", "read_stored", "seal_ref", "verify_document", "verify_url",
    "zh_date",
]
