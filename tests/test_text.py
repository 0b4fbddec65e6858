"""dlbook.text.Vocab: order, cut-offs, unknown tokens and errors."""

from collections import Counter

import pytest
import torch

from dlbook.text import Vocab


def test_order_is_specials_then_count_then_alphabet():
    v = Vocab(Counter({"b": 2, "a": 2, "c": 5, "d": 1}))
    assert v.itos == ["<pad>", "<unk>", "c", "a", "b", "d"]
    assert all(v.stoi[t] == i for i, t in enumerate(v.itos))
    assert v["<pad>"] == 0 and v["zzz"] == v.unk_index == 1


def test_min_freq_max_size_and_round_trip():
    tokens = "x y y z z z".split()
    v = Vocab(tokens, min_freq=2)
    assert v.itos == ["<pad>", "<unk>", "z", "y"] and "x" not in v and v.counts["x"] == 1
    assert Vocab(tokens, max_size=3).itos == ["<pad>", "<unk>", "z"]
    ids = v.encode(["z", "y", "x"])
    assert ids.dtype == torch.long and ids.tolist() == [2, 3, 1]
    assert v.decode(ids) == ["z", "y", "<unk>"]


def test_no_unk_and_custom_specials():
    v = Vocab("a b".split(), specials=("<eos>",), unk=None)
    assert v.itos == ["<eos>", "a", "b"]
    with pytest.raises(KeyError, match="'c'"):
        v["c"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="'min_freq'"):
        Vocab(["a"], min_freq=0)
    with pytest.raises(ValueError, match="'max_size'"):
        Vocab(["a"], max_size=1)
    with pytest.raises(ValueError, match="'unk'"):
        Vocab(["a"], specials=("<pad>",))
    with pytest.raises(ValueError, match="'specials'"):
        Vocab(["a"], specials=("<pad>", "<pad>"), unk=None)
    with pytest.raises(TypeError, match="'counts'"):
        Vocab("a b c")
    with pytest.raises(ValueError, match="'indices'"):
        Vocab(["a"]).decode(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(IndexError):
        Vocab(["a"]).decode([7])


def test_iterates_over_tokens_and_refuses_indices():
    """A Vocab iterates over its tokens once (an unknown key maps to unk, so the old
    index-by-index iteration never ended), and an integer key is an error, not unk's index."""
    v = Vocab("b a a".split(), specials=("<unk>",))
    assert list(v) == v.itos == ["<unk>", "a", "b"]
    with pytest.raises(TypeError, match="must be a str.*decode"):
        v[1]
