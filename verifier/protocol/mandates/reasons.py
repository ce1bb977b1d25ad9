"""Why a mandate does not authorise an action: one failed rule, as a stable code and a detail."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MandateReadError", "Reason"]


@dataclass(frozen=True, slots=True)
class Reason:
    """One failed rule: a stable code and a human-readable detail."""

    code: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


class MandateReadError(Exception):
    """Raised while a mandate is read; carries the one :class:`Reason` that stops reading."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.reason = Reason(code, detail)
