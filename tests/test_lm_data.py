"""Language-model corpora, batching and perplexity (issue 16)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import torch

from dlbook.data import DataNotAvailableError, batchify, bptt_batches, load_gutenberg, load_ptb
from dlbook.data.corpora import strip_gutenberg_boilerplate
from dlbook.metrics import perplexity


def _root(name):
    env = os.environ.get("DLBOOK_DATA")
    if not env or not (Path(env) / name).is_dir():
        pytest.skip(f"DLBOOK_DATA does not hold {name}/")
    return Path(env)


@pytest.fixture(scope="module")
def ptb():
    _root("ptb")
    return load_ptb(download=False)


def test_ptb_sizes(ptb):
    assert (len(ptb.train), len(ptb.valid), len(ptb.test)) == (929_589, 73_760, 82_430)
    assert len(ptb.vocab) == 10_000
    eos = ptb.vocab["<eos>"]
    # one <eos> per line of each file
    for split in ("train", "valid", "test"):
        lines = (_root("ptb") / "ptb" / f"ptb.{split}.txt").read_text().splitlines()
        assert int((ptb.split(split) == eos).sum()) == sum(1 for line in lines if line.split())
    assert ptb.vocab.decode(ptb.train[:3]) == ["aer", "banknote", "berlitz"]


def test_ptb_missing_file_error(tmp_path):
    with pytest.raises(DataNotAvailableError) as info:
        load_ptb(root=tmp_path, download=False)
    message = str(info.value)
    assert "ptb.train.txt" in message and str(tmp_path / "ptb" / "ptb.train.txt") in message


def test_gutenberg_missing_file_error(tmp_path):
    with pytest.raises(DataNotAvailableError) as info:
        load_gutenberg(root=tmp_path, download=False)
    assert "austen-emma.txt" in str(info.value) and str(tmp_path / "gutenberg") in str(info.value)


def test_gutenberg_split_is_disjoint_and_seeded():
    _root("gutenberg")
    a = load_gutenberg(download=False, block_lines=400)
    b = load_gutenberg(download=False, block_lines=400)
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    assert len(a.vocab) == 10_000 and a.vocab.itos[:2] == ["<unk>", "<eos>"]
    total = len(a.train) + len(a.valid) + len(a.test)
    assert 0.04 < len(a.valid) / total < 0.07 and 0.04 < len(a.test) / total < 0.07
    # the licence footer of War and Peace is gone, its first words are kept
    words = set(a.vocab.itos)
    assert "gutenberg" not in words or a.vocab.counts["gutenberg"] < 5
    c = load_gutenberg(download=False, block_lines=400, seed=1)
    assert not torch.equal(a.test, c.test)


def test_strip_gutenberg_boilerplate():
    text = ("Title\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\n\nCHAPTER 1\nwords\n"
            "*** END OF THIS PROJECT GUTENBERG EBOOK X ***\nEnd of licence")
    assert strip_gutenberg_boilerplate(text) == "CHAPTER 1\nwords"
    assert strip_gutenberg_boilerplate("no markers\n") == "no markers"


@pytest.mark.parametrize("length,batch,bptt", [(1000, 7, 35), (101, 1, 10), (64, 4, 1), (50, 5, 100)])
def test_bptt_covers_every_token_once(length, batch, bptt):
    stream = torch.arange(length)
    data = batchify(stream, batch)
    rows = length // batch
    assert data.shape == (rows, batch)
    seen_in, seen_tgt = [], []
    for x, y in bptt_batches(data, bptt):
        assert x.shape == y.shape and x.shape[0] <= bptt
        assert torch.equal(y, x + 1)  # the target is the next token of the same column
        seen_in.append(x.flatten())
        seen_tgt.append(y.flatten())
    seen_in, seen_tgt = torch.cat(seen_in), torch.cat(seen_tgt)
    # every token of the batchified stream is a target exactly once, except each column's first
    expected = torch.sort(data[1:].flatten()).values
    assert torch.equal(torch.sort(seen_tgt).values, expected)
    assert torch.equal(torch.sort(seen_in).values, torch.sort(data[:-1].flatten()).values)
    assert len(torch.unique(seen_tgt)) == len(seen_tgt)


def test_batchify_bad_input():
    with pytest.raises(ValueError, match="'batch_size'"):
        batchify(torch.arange(3), 4)
    with pytest.raises(ValueError, match="'stream'"):
        batchify(torch.zeros(2, 2), 1)
    with pytest.raises(ValueError, match="'bptt'"):
        list(bptt_batches(torch.zeros(3, 2), 0))


def test_perplexity_hand_example():
    # a stream of 3 predictions "the cat <eos>" with probabilities 1/2, 1/4 and 1/8
    probs = [0.5, 0.25, 0.125]
    nll = -sum(math.log(p) for p in probs)
    assert perplexity(nll, 3) == pytest.approx(4.0)  # geometric mean of 2, 4, 8
    # through cross-entropy of logits, summed, as the trainer computes it
    logits = torch.log(torch.tensor([[0.5, 0.5, 0.0 + 1e-30], [0.25, 0.75, 1e-30], [0.875, 0.0 + 1e-30, 0.125]]))
    target = torch.tensor([0, 0, 2])
    s = torch.nn.functional.cross_entropy(logits.double(), target, reduction="sum")
    assert perplexity(s, 3) == pytest.approx(4.0)
    # with equal-size batches the mean of per-batch perplexities is larger (the common mistake)
    whole = perplexity(-math.log(0.5 * 0.25 * 0.125 * 0.125), 4)
    per_batch = (perplexity(-math.log(0.5 * 0.25), 2) + perplexity(-math.log(0.125 * 0.125), 2)) / 2
    assert whole == pytest.approx(512 ** 0.25) and per_batch > whole
    with pytest.raises(ValueError, match="n_tokens"):
        perplexity(1.0, 0)
