import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.protocol import StatusError, decode_status_list, encode_status_list


@st.composite
def lists(draw: st.DrawFn) -> tuple[int, list[int]]:
    bits = draw(st.sampled_from([1, 2, 4, 8]))
    values = draw(st.lists(st.integers(0, (1 << bits) - 1), min_size=1, max_size=300))
    return bits, values


@given(lists())
def test_encode_decode_roundtrip(case: tuple[int, list[int]]) -> None:
    bits, values = case
    decoded = decode_status_list(encode_status_list(values, bits), bits)
    assert [decoded.get(i) for i in range(len(values))] == values
    assert len(decoded) >= len(values)


def test_decompression_is_bounded() -> None:
    big = encode_status_list([0] * 80_000, 1)
    with pytest.raises(StatusError) as info:
        decode_status_list(big, 1, max_bytes=1_000)
    assert info.value.code == "status_list_malformed"


def test_truncated_stream_refused() -> None:
    lst = encode_status_list([1] * 1000, 1)
    with pytest.raises(StatusError):
        decode_status_list(lst[:-4], 1)
