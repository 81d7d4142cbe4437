"""Price lists: what 1,000 billable calls of each action cost, in which currency, per account.

Without ``OPENKYC_PRICE_LIST_FILE`` every account is billed from :data:`DEFAULT_PRICES` in
:data:`DEFAULT_CURRENCY`. The file (JSON, or YAML when it ends in ``.yaml``/``.yml``) replaces them::

    default:                 # every account without a list of its own
      currency: EUR
      prices: {CompareFace: "1.20", VerifySelfie: "3.50"}
    accounts:
      "1234567890":          # an account id (UIN)
        currency: EUR
        prices: {VerifySelfie: "2.90"}

A list names its currency (ISO 4217, three capital letters) and its prices per 1,000 billable calls
(decimal strings, at least 0). An account's list falls back to the default list for an action it
does not price when both are in the same currency; an account billed in another currency must price
every metered action. An action no list prices is billed at 0 and shown so. The file is validated
when the service starts: a bad file stops start-up instead of producing wrong bills.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from openkyc.errors import InternalError

DEFAULT_CURRENCY = "USD"
DEFAULT_PRICES: dict[str, Decimal] = {
    "DetectFace": Decimal("1.00"),
    "CompareFace": Decimal("1.50"),
    "CreateSubject": Decimal("1.50"),
    "ReplaceSubjectPhoto": Decimal("1.50"),
    "SearchFaces": Decimal("2.00"),
    "DetectLiveness": Decimal("3.00"),
    "VerifySelfie": Decimal("4.00"),
    "RecognizeDocument": Decimal("3.00"),
    "VerifyIdentity": Decimal("8.00"),
    "SubmitSessionVideo": Decimal("4.00"),
}
METERED_ACTIONS = frozenset(DEFAULT_PRICES)

Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)]


class PriceListFileError(InternalError):
    code = "InternalError.PriceList"
    default_message = "The price list file is not valid."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceListIn(_Strict):
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    prices: dict[str, Price] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_actions(self) -> PriceListIn:
        unknown = sorted(set(self.prices) - METERED_ACTIONS)
        if unknown:
            raise ValueError(
                f"not metered actions: {', '.join(unknown)} (metered: {', '.join(sorted(METERED_ACTIONS))})"
            )
        return self


class PriceBookIn(_Strict):
    default: PriceListIn
    accounts: dict[int, PriceListIn] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete_in_own_currency(self) -> PriceBookIn:
        for account_id, own in self.accounts.items():
            if own.currency != self.default.currency and set(own.prices) != METERED_ACTIONS:
                missing = ", ".join(sorted(METERED_ACTIONS - set(own.prices)))
                raise ValueError(
                    f"account {account_id} is billed in {own.currency}, not the default {self.default.currency}: "
                    f"it must price every metered action (missing: {missing})"
                )
        return self


@dataclass(frozen=True)
class PriceList:
    """One account's prices per 1,000 billable calls and their currency."""

    currency: str
    prices: dict[str, Decimal] = field(default_factory=dict)

    def price(self, action: str) -> Decimal:
        return self.prices.get(action, Decimal(0))


@dataclass(frozen=True)
class PriceBook:
    default: PriceList
    accounts: dict[int, PriceList] = field(default_factory=dict)

    def for_account(self, account_id: int) -> PriceList:
        return self.accounts.get(account_id, self.default)


def built_in() -> PriceBook:
    return PriceBook(PriceList(DEFAULT_CURRENCY, dict(DEFAULT_PRICES)))


def parse(document: Any) -> PriceBook:
    """A validated price book from the parsed file."""
    try:
        book = PriceBookIn.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise PriceListFileError(f"The price list file is not valid: {problems}") from exc
    default = PriceList(book.default.currency, dict(book.default.prices))
    accounts = {}
    for account_id, own in book.accounts.items():
        inherited = default.prices if own.currency == default.currency else {}
        accounts[account_id] = PriceList(own.currency, {**inherited, **own.prices})
    return PriceBook(default, accounts)


def load(path: Path | None) -> PriceBook:
    """The price book of ``OPENKYC_PRICE_LIST_FILE``, or the built-in one when it is unset."""
    if path is None:
        return built_in()
    try:
        text = path.read_text(encoding="utf-8")
        document = yaml.safe_load(text) if path.suffix in {".yaml", ".yml"} else json.loads(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise PriceListFileError(f"The price list file {path.name} cannot be read: {type(exc).__name__}.") from exc
    return parse(document)
