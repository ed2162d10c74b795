"""Words, symbols and colours shared by every renderer (HTML, Markdown, text).

Each status and verdict has a word and a symbol as well as a colour, so a report reads in
black-and-white print and for colour-blind readers.
"""

from __future__ import annotations

from typing import Final

STATUS_LABEL: Final[dict[str, str]] = {
    "met": "MET",
    "partial": "PARTIAL",
    "missing": "MISSING",
    "conflict": "CONFLICT",
    "not_applicable": "N/A",
}
STATUS_ICON: Final[dict[str, str]] = {"met": "✓", "partial": "◐", "missing": "✗", "conflict": "⚠", "not_applicable": "–"}
VERDICT_LABEL: Final[dict[str, str]] = {"ready": "READY", "at_risk": "AT RISK", "not_supported": "NOT SUPPORTED"}
VERDICT_ICON: Final[dict[str, str]] = {"ready": "✓", "at_risk": "!", "not_supported": "✗"}
VERDICT_RANK: Final[dict[str, int]] = {"not_supported": 0, "at_risk": 1, "ready": 2}
ADVISORY_LABEL: Final[dict[str, str]] = {
    "code_selection": "Code selection",
    "modifier": "Modifier",
    "bundling": "Bundling",
    "laterality": "Laterality",
}
#: Why a note is not ready (``Report.verdict_reason``), in a few words.
REASON_LABEL: Final[dict[str, str]] = {
    "ready": "all items documented",
    "gaps": "items to complete",
    "operation": "not a radical resection",
    "tissue": "soft-tissue tumor, no bone resected",
    "tumor_status": "no current tumor",
    "site": "a site the code does not cover",
    "code_selection": "another code fits better",
    "conflict": "an item in conflict (side, codes)",
}
CATEGORY_LABEL: Final[dict[str, str]] = {
    "primary_malignant_bone": "primary malignant bone tumor",
    "metastatic_bone": "metastatic bone tumor",
    "benign_aggressive_bone": "benign aggressive bone tumor",
    "uncertain_behavior_bone": "bone tumor of uncertain behavior",
    "soft_tissue_sarcoma": "soft-tissue sarcoma",
    "hematologic": "hematologic (myeloma / plasmacytoma / lymphoma)",
    "unknown": "not determined",
}
GAP_STATUSES: Final[tuple[str, ...]] = ("partial", "missing", "conflict")

# Item colours by checklist position: (highlight background, strong border/text colour).
PALETTE: Final[list[tuple[str, str]]] = [
    ("#cfe2ff", "#1d4ed8"),  # blue
    ("#ffd9b0", "#b45309"),  # orange
    ("#c6eec6", "#15803d"),  # green
    ("#ffcfe0", "#be185d"),  # pink
    ("#c0ede7", "#0f766e"),  # teal
    ("#e2d3fa", "#6d28d9"),  # purple
    ("#fdec8f", "#854d0e"),  # yellow
    ("#e9d5c1", "#7c3f12"),  # brown
    ("#d3dbe7", "#334155"),  # slate
]
#: Colours of evidence quotes that belong to no checklist item (diagnosis, advisories, global period).
NEUTRAL: Final[tuple[str, str]] = ("#eef1f5", "#94a3b8")


def colour(idx: int) -> tuple[str, str]:
    """The (background, border) colours of the checklist item at position ``idx``."""
    return PALETTE[idx % len(PALETTE)]


def short(s: str, n: int = 90) -> str:
    """``s`` with whitespace runs collapsed, cut to ``n`` characters with an ellipsis."""
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def fee_sentence(fee: object) -> str | None:
    """The fee context in one sentence ("CPT 27365, 2026: national amount $1,837.05 ..."), or None."""
    if fee is None:
        return None
    code, year = getattr(fee, "code", ""), getattr(fee, "year", "")
    amount = getattr(fee, "national_amount", None)
    note = getattr(fee, "note", "")
    if amount is None:
        return f"CPT {code}, {year}: {note or 'no fee-schedule figures'}"
    rvus = getattr(fee, "total_rvus", None)
    days = getattr(fee, "global_days", None)
    parts = [f"national amount ${amount:,.2f}"]
    if rvus is not None:
        parts.append(f"{rvus:g} total RVUs ({getattr(fee, 'setting', 'facility')})")
    if days is not None:
        parts.append(f"{days}-day global")
    text = f"CPT {code}, {year}: " + ", ".join(parts) + f" ({getattr(fee, 'confidence', '')}; {getattr(fee, 'source', '')})."
    return text + (f" {note}" if note else "")
