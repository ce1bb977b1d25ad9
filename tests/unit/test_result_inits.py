"""Result classes whose ``__init__`` is written out (so the compiled build runs it natively)
must take exactly what the one ``@dataclass`` would generate takes, and set every field."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest

from verifier.protocol.frozen import slot_setters
from verifier.protocol.sdjwt.kb_jwt import KeyBindingClaims
from verifier.protocol.sdjwt.layout import SDLayout
from verifier.protocol.sdjwt.vc import VerifiedCredential

CLASSES = (VerifiedCredential, KeyBindingClaims)


@pytest.mark.parametrize("cls", CLASSES)
def test_init_takes_the_fields_in_order_with_their_defaults(cls: type) -> None:
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for param, field in zip(params, fields, strict=True):
        assert param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, param
        expected = (
            inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default
        )
        assert param.default is expected, param


@pytest.mark.parametrize("cls", CLASSES)
def test_init_sets_every_field_and_the_instance_stays_frozen(cls: type) -> None:
    fields = dataclasses.fields(cls)
    values: dict[str, Any] = {f.name: object() for f in fields}
    made = cls(**values)
    assert {f.name: getattr(made, f.name) for f in fields} == values
    assert cls(*values.values()) == made
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, fields[0].name, 1)
    assert dataclasses.replace(made, **{fields[0].name: 2}) == cls(**{**values, fields[0].name: 2})


def test_defaults_apply() -> None:
    required = [
        f.name for f in dataclasses.fields(VerifiedCredential) if f.default is dataclasses.MISSING
    ]
    made = VerifiedCredential(**dict.fromkeys(required))  # type: ignore[arg-type]
    assert (made.raw, made.delegated, made.layout) == ("", (), SDLayout())


def test_slot_setters_are_the_slots_in_field_order_and_refuse_other_classes() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Slotted:
        b: int
        a: int = 0

    made = Slotted(1, 2)
    for setter, value in zip(slot_setters(Slotted), (10, 20), strict=True):
        setter(made, value)
    assert (made.b, made.a) == (10, 20)

    @dataclasses.dataclass(frozen=True)
    class Unslotted:
        a: int = 0

    with pytest.raises(TypeError, match=r"Unslotted\.a is not a slot"):
        slot_setters(Unslotted)
