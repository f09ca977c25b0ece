"""Quantization choices as labkit reads them (no compile): schemes, overrides, their text form."""

import pytest
import torch

from labkit.errors import QuantizationError
from labkit.quantization import from_text, parse


def test_parse_describes_and_keys_stably():
    q = parse({"default": "a16w8", "features.1": "int8", torch.nn.Linear: "a8w4"})
    assert q.describe() == "a16w8; features.1: int8; Linear: a8w4"
    assert q.key() == parse(q).key() and q.max_bits() == (16, 8)
    assert q.types == (("torch.nn.modules.linear.Linear", "a8w4"),)
    assert parse(None) == parse("int8") and hash(q) == hash(parse(q))


def test_overrides_as_text():
    assert from_text("int8", "") == "int8"
    assert from_text("a16w8", " fc=int8, features.1 = a8w4 ") == {"default": "a16w8", "fc": "int8",
                                                                   "features.1": "a8w4"}
    with pytest.raises(QuantizationError, match="module=scheme"):
        from_text("int8", "fc")


@pytest.mark.parametrize("value, words", [("int9", "Did you mean 'int8'"), ({"default": "int8", ".fc": "a16w8"},
                                                                              "not a module path")])
def test_bad_choices_name_the_fix(value, words):
    with pytest.raises(QuantizationError, match=words):
        parse(value)
