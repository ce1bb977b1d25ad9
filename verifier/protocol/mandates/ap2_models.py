"""AP2 v0.2 mandate content as typed models (``code/sdk/schemas/ap2/*.json``).

Four mandate types, told apart by their exact ``vct`` (version suffix included: ``.2`` or an
unsuffixed name is another, unsupported schema): :data:`CHECKOUT`, :data:`CHECKOUT_OPEN`,
:data:`PAYMENT`, :data:`PAYMENT_OPEN`. Constraint objects are parsed by ``type`` into the models
below; a type we do not know stays an :class:`UnknownConstraint` (it fails evaluation).

Amounts: ``payment_amount.amount`` and ``payment.amount_range`` bounds are integers in minor
units (a float there is refused); ``payment.budget.max`` is a JSON number in *major* units,
converted exactly with the currency's ISO 4217 exponent (:func:`minor_units`).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

__all__ = [
    "CHECKOUT",
    "CHECKOUT_OPEN",
    "KNOWN_VCTS",
    "PAYMENT",
    "PAYMENT_OPEN",
    "CheckoutMandate",
    "Constraint",
    "OpenCheckoutMandate",
    "OpenPaymentMandate",
    "PaymentMandate",
    "UnknownConstraint",
    "minor_units",
]

CHECKOUT = "mandate.checkout.1"
CHECKOUT_OPEN = "mandate.checkout.open.1"
PAYMENT = "mandate.payment.1"
PAYMENT_OPEN = "mandate.payment.open.1"
KNOWN_VCTS = frozenset({CHECKOUT, CHECKOUT_OPEN, PAYMENT, PAYMENT_OPEN})
# ISO 4217 minor-unit exponents other than 2.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENTS = {
    **{code: 0 for code in _ZERO.split()},
    **{code: 3 for code in _THREE.split()},
    "CLF": 4,
    "UYW": 4,
}
Frequency = Literal["ON_DEMAND", "DAILY", "WEEKLY", "BIWEEKLY", "MONTHLY", "QUARTERLY", "ANNUALLY"]


def minor_units(value: int | float, currency: str) -> int | None:
    """``value`` major units of ``currency`` in minor units; None if not exact."""
    exponent = _EXPONENTS.get(currency, 2)
    try:
        scaled = Decimal(str(value)).scaleb(exponent)
    except InvalidOperation:
        return None
    return int(scaled) if scaled == scaled.to_integral_value() and scaled.is_finite() else None


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Merchant(_Open):
    id: StrictStr
    name: StrictStr
    website: StrictStr | None = None


class Amount(_Open):
    amount: StrictInt
    currency: StrictStr = Field(min_length=3, max_length=3)


class PaymentInstrument(_Open):
    id: StrictStr
    type: StrictStr
    description: StrictStr | None = None


class Pisp(_Open):
    legal_name: StrictStr
    brand_name: StrictStr
    domain_name: StrictStr


class Item(_Open):
    id: StrictStr
    title: StrictStr


class AmountRange(_Open):
    type: Literal["payment.amount_range"]
    currency: StrictStr
    max: StrictInt
    min: StrictInt | None = None


class Budget(_Open):
    type: Literal["payment.budget"]
    currency: StrictStr
    max: StrictInt | float


class AgentRecurrence(_Open):
    type: Literal["payment.agent_recurrence"]
    frequency: Frequency
    max_occurrences: StrictInt | None = Field(None, ge=0)


class AllowedPayees(_Open):
    type: Literal["payment.allowed_payees"]
    allowed: list[Merchant]


class AllowedPaymentInstruments(_Open):
    type: Literal["payment.allowed_payment_instruments"]
    allowed: list[PaymentInstrument]


class AllowedPisps(_Open):
    type: Literal["payment.allowed_pisps"]
    allowed: list[Pisp]


class PaymentReference(_Open):
    type: Literal["payment.reference"]
    conditional_transaction_id: StrictStr


class ExecutionDate(_Open):
    type: Literal["payment.execution_date"]
    not_before: StrictStr | None = None
    not_after: StrictStr | None = None


class AllowedMerchants(_Open):
    type: Literal["checkout.allowed_merchants"]
    allowed: list[Merchant]


class LineItemRequirement(_Open):
    id: StrictStr
    acceptable_items: list[Item]
    quantity: StrictInt = Field(gt=0)


class LineItems(_Open):
    type: Literal["checkout.line_items"]
    items: list[LineItemRequirement] = Field(min_length=1)


class UnknownConstraint(_Open):
    type: StrictStr


Constraint = (
    AmountRange
    | Budget
    | AgentRecurrence
    | AllowedPayees
    | AllowedPaymentInstruments
    | AllowedPisps
    | PaymentReference
    | ExecutionDate
    | AllowedMerchants
    | LineItems
    | UnknownConstraint
)
CONSTRAINT_MODELS: dict[str, type[BaseModel]] = {
    "payment.amount_range": AmountRange,
    "payment.budget": Budget,
    "payment.agent_recurrence": AgentRecurrence,
    "payment.allowed_payees": AllowedPayees,
    "payment.allowed_payment_instruments": AllowedPaymentInstruments,
    "payment.allowed_pisps": AllowedPisps,
    "payment.reference": PaymentReference,
    "payment.execution_date": ExecutionDate,
    "checkout.allowed_merchants": AllowedMerchants,
    "checkout.line_items": LineItems,
}
PAYMENT_CONSTRAINTS = frozenset(t for t in CONSTRAINT_MODELS if t.startswith("payment."))
CHECKOUT_CONSTRAINTS = frozenset(t for t in CONSTRAINT_MODELS if t.startswith("checkout."))


class _Mandate(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    iat: StrictInt | None = None
    exp: StrictInt | None = None


class CheckoutMandate(_Mandate):
    vct: Literal["mandate.checkout.1"]
    checkout_jwt: StrictStr | None = None  # selectively disclosable: may come separately
    checkout_hash: StrictStr


class PaymentMandate(_Mandate):
    vct: Literal["mandate.payment.1"]
    transaction_id: StrictStr
    payee: Merchant
    payment_amount: Amount
    payment_instrument: PaymentInstrument
    pisp: Pisp | None = None
    execution_date: StrictStr | None = None
    risk_data: dict[str, Any] | None = None


class OpenCheckoutMandate(_Mandate):
    vct: Literal["mandate.checkout.open.1"]
    constraints: list[dict[str, Any]]
    cnf: dict[str, Any]


class OpenPaymentMandate(_Mandate):
    vct: Literal["mandate.payment.open.1"]
    constraints: list[dict[str, Any]]
    cnf: dict[str, Any]
    payee: Merchant | None = None
    payment_amount: Amount | None = None
    payment_instrument: PaymentInstrument | None = None
    pisp: Pisp | None = None
    execution_date: StrictStr | None = None
    risk_data: dict[str, Any] | None = None


MANDATE_MODELS: dict[str, type[_Mandate]] = {
    CHECKOUT: CheckoutMandate,
    CHECKOUT_OPEN: OpenCheckoutMandate,
    PAYMENT: PaymentMandate,
    PAYMENT_OPEN: OpenPaymentMandate,
}
# Claims an open payment mandate may pre-set; the closed one must carry them unchanged.
PRESETS = ("payee", "payment_amount", "payment_instrument", "pisp", "execution_date", "risk_data")
