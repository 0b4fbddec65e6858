"""Word embeddings: SGNS gradients, noise and subsampling tables, n-grams, I/O, evaluation, Spearman."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlbook.embeddings import (
    FastText,
    KeyedVectors,
    SkipGram,
    char_ngrams,
    evaluate_analogies,
    evaluate_similarity,
    fnv1a_32,
    keep_probability,
    noise_distribution,
    sgns_loss_and_grad,
    strip_gutenberg,
    tokenize,
)
from dlbook.metrics import rankdata, spearman

scipy_stats = pytest.importorskip("scipy.stats")


# ----- Spearman -----------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=3, max_size=40))
def test_spearman_matches_scipy_with_ties(pairs):
    x = [float(a) for a, _ in pairs]
    y = [float(b) for _, b in pairs]
    expected = scipy_stats.spearmanr(x, y).statistic
    got = spearman(x, y)
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=1e-12)


def test_rankdata_matches_scipy():
    x = torch.tensor([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0])
    assert rankdata(x).tolist() == pytest.approx(scipy_stats.rankdata(x.numpy()).tolist())


def test_spearman_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        spearman([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="at least 2"):
        spearman([1.0], [1.0])


# ----- SGNS loss and gradient ------------------------------------------------------------------
def test_sgns_gradient_matches_autograd():
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(7, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    u = torch.randn(7, 4, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    mask = torch.rand(7, 4, generator=gen) > 0.2
    mask[:, 0] = True
    s = torch.einsum("pkd,pd->pk", u, h)
    ref = -torch.nn.functional.logsigmoid(s[:, 0]) - (torch.nn.functional.logsigmoid(-s[:, 1:]) * mask[:, 1:]).sum(1)
    loss, gh, gu = sgns_loss_and_grad(h.detach(), u.detach(), mask)
    assert torch.allclose(loss, ref.detach(), atol=1e-12)
    w = torch.randn(7, generator=gen, dtype=torch.float64)  # a weighted sum checks each pair's gradient
    rh, ru = torch.autograd.grad((ref * w).sum(), (h, u))
    assert torch.allclose(gh * w[:, None], rh, atol=1e-12)
    assert torch.allclose(gu * w[:, None, None], ru, atol=1e-12)


def test_fasttext_gradient_through_the_mean():
    """The gradient of the loss with respect to each n-gram row is dl/dh / |G_w|."""
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(6, 4, generator=gen, dtype=torch.float64, requires_grad=True)   # rows of one word
    u = torch.randn(1, 6, 4, generator=gen, dtype=torch.float64)
    h = z.mean(0, keepdim=True)
    loss, gh, _ = sgns_loss_and_grad(h.detach(), u)
    s = torch.einsum("pkd,pd->pk", u, h)
    ref = -torch.nn.functional.logsigmoid(s[:, 0]) - torch.nn.functional.logsigmoid(-s[:, 1:]).sum(1)
    (gz,) = torch.autograd.grad(ref.sum(), z)
    assert torch.allclose(gz, gh.expand(6, 4) / 6, atol=1e-12)


def test_sgns_bad_shapes():
    with pytest.raises(ValueError, match=r"h \(P, d\)"):
        sgns_loss_and_grad(torch.zeros(3, 2), torch.zeros(3, 4, 5))


# ----- noise and subsampling -------------------------------------------------------------------
def test_noise_distribution_formula():
    c = torch.tensor([100.0, 10.0, 1.0, 50.0])
    p = noise_distribution(c, 0.75)
    ref = c.double() ** 0.75 / (c.double() ** 0.75).sum()
    assert torch.allclose(p.double(), ref, atol=1e-7)
    model = SkipGram(min_count=1, sample=0)
    model.table_size = 1_000_000
    model.build_vocab([["a"] * 100 + ["b"] * 10 + ["c"] + ["d"] * 50])
    share = torch.bincount(model._noise_table.long(), minlength=4).double() / model.table_size
    expected = noise_distribution(model.counts, 0.75).double()
    assert torch.allclose(share, expected, atol=1e-5)


def test_keep_probability_formula():
    c = torch.tensor([5000.0, 300.0, 20.0, 1.0])
    t = 1e-3
    f = c / c.sum()
    ref = torch.clamp(torch.sqrt(t / f) + t / f, max=1.0)
    assert torch.allclose(keep_probability(c, t), ref.float())
    assert torch.equal(keep_probability(c, 0), torch.ones(4))


# ----- n-grams ------------------------------------------------------------------------------------
def test_char_ngrams_hand_cases():
    assert char_ngrams("where", 3, 3) == ["<wh", "whe", "her", "ere", "re>"]
    assert char_ngrams("her", 3, 6) == ["<he", "her", "er>", "<her", "her>", "<her>"]
    assert char_ngrams("a", 3, 6) == ["<a>"]
    assert char_ngrams("ab", 4, 6) == ["<ab>"]
    assert len(char_ngrams("abcdefgh", 3, 6)) == 8 + 7 + 6 + 5   # marked length 10


def test_fnv1a_matches_gensim():
    gensim_ft = pytest.importorskip("gensim.models.fasttext")
    for g in ["<wh", "whe", "<é>", "über>"]:
        assert fnv1a_32(g.encode("utf-8")) == gensim_ft.ft_hash_bytes(g.encode("utf-8"))


# ----- I/O and look-up -------------------------------------------------------------------------------
def test_word2vec_format_round_trip_and_gensim_reads_it(tmp_path):
    gen = torch.Generator().manual_seed(0)
    kv = KeyedVectors(["the", "cat", "émile", "don't"], torch.randn(4, 3, generator=gen))
    path = tmp_path / "v.txt"
    kv.save_word2vec_format(path)
    back = KeyedVectors.load_word2vec_format(path)
    assert back.index_to_key == kv.index_to_key
    assert torch.equal(back.vectors, kv.vectors)
    gensim_kv = pytest.importorskip("gensim.models").KeyedVectors.load_word2vec_format(str(path), binary=False)
    assert list(gensim_kv.index_to_key) == kv.index_to_key
    assert torch.allclose(torch.tensor(gensim_kv.vectors), kv.vectors)
    assert gensim_kv.similarity("the", "cat") == pytest.approx(kv.similarity("the", "cat"), abs=1e-6)


def test_keyedvectors_lookup():
    kv = KeyedVectors(["a", "b", "c"], torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]))
    assert kv.most_similar("a", topn=1)[0][0] == "b"
    assert "zzz" not in kv and not kv.has_vector("zzz")
    with pytest.raises(KeyError, match="zzz"):
        kv["zzz"]
    with pytest.raises(ValueError, match=r"\(V, d\)"):
        KeyedVectors(["a"], torch.zeros(2, 2))


def test_evaluate_similarity_coverage_rules():
    kv = KeyedVectors(["a", "b", "c"], torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]))
    pairs = [("a", "b", 9.0), ("a", "c", 1.0), ("b", "c", 5.0), ("a", "q", 8.0)]
    drop = evaluate_similarity(kv, pairs)
    assert drop["coverage"] == 0.75 and drop["pairs_used"] == 3 and drop["spearman"] == pytest.approx(1.0)
    zero = evaluate_similarity(kv, pairs, oov="zero")
    assert zero["pairs_used"] == 4
    assert zero["spearman"] == pytest.approx(spearman([0.8, 0.0, 0.6, 0.0], [9.0, 1.0, 5.0, 8.0]))


def test_evaluate_analogies_restricted_to_vocabulary():
    kv = KeyedVectors(["king", "queen", "man", "woman", "apple"],
                      torch.tensor([[1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [0.5, 1.0, 0.1], [0.5, -1.0, 0.1],
                                    [0.0, 0.0, 1.0]]))
    qs = [("family", "man", "king", "woman", "queen"), ("family", "man", "king", "boy", "prince")]
    r = evaluate_analogies(kv, qs)
    assert r["accuracy"] == 1.0 and r["coverage"] == 0.5 and r["answered"] == 1


# ----- corpora helpers -----------------------------------------------------------------------------
def test_strip_gutenberg_and_tokenize():
    text = ("The Project Gutenberg EBook\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\n"
            "Well, Prince, so Genoa and Lucca...\n*** END OF THIS PROJECT GUTENBERG EBOOK X ***\nlicence")
    body = strip_gutenberg(text)
    assert tokenize(body) == ["well", "prince", "so", "genoa", "and", "lucca"]


# ----- training -------------------------------------------------------------------------------------
def _toy_corpus():
    gen = torch.Generator().manual_seed(0)
    groups = [["cat", "dog", "cow", "horse"], ["red", "green", "blue", "yellow"]]
    groups += [[f"w{g}x{i}" for i in range(6)] for g in range(6)]
    sents = []
    for _ in range(400):
        g = groups[int(torch.randint(0, len(groups), (1,), generator=gen))]
        sents.append([g[int(i)] for i in torch.randint(0, len(g), (8,), generator=gen)])
    return sents


@pytest.mark.parametrize("cls", [SkipGram, FastText])
def test_smoke_training_lowers_the_loss(cls):
    kwargs = dict(dim=16, window=3, min_count=1, epochs=5, sample=0, batch_words=16, alpha=0.025, seed=0)
    if cls is FastText:
        kwargs["buckets"] = 1000
    model = cls(**kwargs).fit(_toy_corpus(), progress=False)
    first, last = sum(model.losses[:5]) / 5, sum(model.losses[-5:]) / 5
    assert last < first - 0.3
    kv = model.wv
    # words of the same group end up nearer than words of different groups
    assert kv.similarity("cat", "dog") > kv.similarity("cat", "red")


def test_fasttext_vectors_for_unseen_words():
    model = FastText(dim=8, min_count=1, epochs=1, sample=0, buckets=500, seed=0).fit(_toy_corpus(), progress=False)
    kv = model.wv
    assert "cats" not in kv and kv.has_vector("cats")
    rows = model.ngram_rows("cats")
    assert torch.allclose(kv["cats"], model.w_in[rows].mean(0))
    v = model._input(torch.tensor([model.vocab.stoi["cat"]]))[0]
    assert torch.allclose(kv["cat"], v)


def test_training_is_seeded():
    a = SkipGram(dim=8, min_count=1, epochs=1, seed=3).fit(_toy_corpus(), progress=False)
    b = SkipGram(dim=8, min_count=1, epochs=1, seed=3).fit(_toy_corpus(), progress=False)
    assert torch.equal(a.w_in, b.w_in)


def test_bad_arguments():
    with pytest.raises(ValueError, match="'window'"):
        SkipGram(window=0)
    with pytest.raises(ValueError, match="min_count"):
        SkipGram(min_count=5).fit([["a", "b"]], progress=False)


# ----- data: clear errors, real files when present -------------------------------------------------
def test_missing_files_give_a_clear_error(tmp_path):
    from dlbook.data import DataNotAvailableError, load_word_similarity
    from dlbook.embeddings import load_corpus

    with pytest.raises(DataNotAvailableError, match=r"ptb.train.txt"):
        load_corpus("ptb", root=tmp_path, download=False)
    with pytest.raises(DataNotAvailableError, match=r"simlex999.txt"):
        load_word_similarity("simlex999", root=tmp_path, download=False)
    with pytest.raises(ValueError, match="'name'"):
        load_word_similarity("men")


def test_real_test_sets_when_available():
    import os

    from dlbook.data import load_analogies, load_word_similarity

    root = os.environ.get("DLBOOK_DATA")
    if not root or not os.path.isdir(os.path.join(root, "word-similarity")):
        pytest.skip("DLBOOK_DATA has no word-similarity/ folder")
    assert len(load_word_similarity("wordsim353", download=False)) == 353
    assert len(load_word_similarity("simlex999", download=False)) == 999
    assert len(load_analogies(download=False)) == 19544


# ----- the study's pieces on a toy corpus --------------------------------------------------------
def test_study_rows_on_a_toy_corpus():
    pytest.importorskip("gensim")
    from dlbook.experiments.embeddings import MODELS, evaluate, hyper_parameters, train

    hp = hyper_parameters("smoke", min_count=1)
    hp["buckets"] = 1000
    tests = {"wordsim353": [("cat", "dog", 8.0), ("cat", "red", 1.0), ("red", "blue", 7.0), ("cat", "zzz", 5.0)],
             "simlex999": [("cow", "horse", 8.0), ("cow", "green", 1.0), ("green", "yellow", 6.0)],
             "analogies": [("x", "cat", "dog", "red", "blue")]}
    for model in [m for m in MODELS if m != "lm-input"]:
        kv, seconds, _ = train(model, _toy_corpus(), hp, threads=1)
        row = evaluate(kv, tests)
        assert 0 < row["wordsim353_coverage"] <= 1 and seconds > 0
        if model.endswith("ft"):
            assert row["wordsim353_coverage"] == 1.0 and "wordsim353_spearman_vocab_only" in row
        else:
            assert row["wordsim353_coverage"] == 0.75


def test_study_neighbours_and_map_on_a_toy_corpus():
    from dlbook.experiments.embeddings import PROBE_WORDS, embedding_map, neighbours

    words = ["a", "b", "c", "d", "e", "f", PROBE_WORDS[0]]
    kv = KeyedVectors(words, torch.eye(7)[:, :6] + 0.1 * torch.arange(42.0).reshape(7, 6).sin())
    near = neighbours(kv, ["a", "not-a-word"], topn=3)
    assert list(near) == ["a"] and len(near["a"]) == 3 and near["a"][0][0] != "a"
    m = embedding_map(kv, n_words=4)
    assert m["words"] == ["a", "b", "c", "d", PROBE_WORDS[0]] and len(m["xy"]) == 5


def test_study_lm_input_reads_a_saved_language_model(tmp_path):
    import os

    from dlbook.data import load_ptb
    from dlbook.experiments.embeddings import lm_input_vectors, train
    from dlbook.models import RNNLM

    root = os.environ.get("DLBOOK_DATA")
    if not root or not os.path.isfile(os.path.join(root, "ptb", "ptb.train.txt")):
        pytest.skip("DLBOOK_DATA has no ptb/ folder")
    vocab = load_ptb(download=False).vocab
    model = RNNLM(len(vocab), 8, 8)
    path = tmp_path / "lm.pt"
    torch.save(model.state_dict(), path)
    kv = lm_input_vectors(str(path))
    assert len(kv) == len(vocab) == 10_000
    assert torch.equal(kv["the"], model.embedding.weight.detach()[vocab.stoi["the"]])
    kv2, seconds, extra = train("lm-input", [], {}, threads=1, lm_params=str(path))
    assert seconds is None and extra["lm_params"] == str(path) and len(kv2) == 10_000
    with pytest.raises(ValueError, match="--lm-params"):
        train("lm-input", [], {}, threads=1)
    torch.save({"other.weight": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="embedding.weight"):
        lm_input_vectors(str(path))


def test_shared_negatives_gradient_matches_autograd():
    from dlbook.embeddings import sgns_shared_loss_and_grad

    g = torch.Generator().manual_seed(1)
    B, P, K, d = 4, 9, 3, 5
    h = torch.randn(B, d, dtype=torch.float64, generator=g, requires_grad=True)
    u_pos = torch.randn(P, d, dtype=torch.float64, generator=g, requires_grad=True)
    u_neg = torch.randn(B, K, d, dtype=torch.float64, generator=g, requires_grad=True)
    rows = torch.tensor([0, 0, 1, 1, 1, 2, 3, 3, 3])
    weight = torch.tensor([[2.0, 2, 1], [3, 3, 3], [1, 0, 1], [3, 2, 3]], dtype=torch.float64)
    s_pos = (u_pos * h[rows]).sum(1)
    s_neg = torch.einsum("bkd,bd->bk", u_neg, h)
    by_autograd = torch.zeros(B, dtype=torch.float64).index_add(0, rows, -torch.nn.functional.logsigmoid(s_pos))
    by_autograd = by_autograd - (weight * torch.nn.functional.logsigmoid(-s_neg)).sum(1)
    grads = torch.autograd.grad(by_autograd.sum(), (h, u_pos, u_neg))
    loss, *ours = sgns_shared_loss_and_grad(h.detach(), u_pos.detach(), rows, u_neg.detach(), weight)
    assert torch.allclose(loss, by_autograd.detach())
    for a, b in zip(ours, grads):
        assert torch.allclose(a, b)
    with pytest.raises(ValueError, match=r"u_neg \(B, K, d\)"):
        sgns_shared_loss_and_grad(h.detach(), u_pos.detach(), rows, u_neg.detach()[:2], weight)


def test_shared_negatives_equal_per_pair_negatives_for_one_pair_per_centre():
    from dlbook.embeddings import sgns_shared_loss_and_grad

    g = torch.Generator().manual_seed(2)
    h, u = torch.randn(3, 4, generator=g), torch.randn(3, 1 + 2, 4, generator=g)
    loss, gh, gu = sgns_loss_and_grad(h, u)
    loss2, gh2, gpos, gneg = sgns_shared_loss_and_grad(h, u[:, 0], torch.arange(3), u[:, 1:], torch.ones(3, 2))
    assert torch.allclose(loss, loss2) and torch.allclose(gh, gh2)
    assert torch.allclose(gu[:, 0], gpos) and torch.allclose(gu[:, 1:], gneg)


def test_shared_negatives_training_lowers_the_loss():
    model = SkipGram(dim=16, window=3, min_count=1, epochs=3, sample=0, seed=0, shared_negatives=True)
    model.fit(_toy_corpus(), progress=False)
    k = max(1, len(model.losses) // 5)
    assert sum(model.losses[-k:]) / k < sum(model.losses[:k]) / k


@pytest.mark.parametrize("model_cls", [SkipGram, FastText])
def test_hogwild_threads_train_and_lower_the_loss(model_cls):
    """Two Hogwild workers see every centre word once per epoch, and the loss drops."""
    kwargs = {"buckets": 500} if model_cls is FastText else {}
    model = model_cls(dim=16, window=3, min_count=1, epochs=3, sample=0, seed=0, threads=2, batch_words=16,
                      **kwargs).fit(_toy_corpus(), progress=False)
    k = max(1, len(model.losses) // 5)
    assert sum(model.losses[-k:]) / k < sum(model.losses[:k]) / k
    assert torch.isfinite(model.w_in).all() and torch.isfinite(model.w_out).all()


def test_hogwild_worker_error_reaches_the_caller(monkeypatch):
    def boom(*args):
        raise RuntimeError("worker failed")

    monkeypatch.setattr(SkipGram, "_pair_step", boom)
    with pytest.raises(RuntimeError, match="worker failed"):
        SkipGram(dim=4, min_count=1, epochs=1, sample=0, threads=2).fit(_toy_corpus(), progress=False)


def test_study_overrides_reach_the_hyper_parameters(tmp_path):
    """--window, --dim and --epochs of the command line end up in the recorded settings and the vectors."""
    import json
    import os

    from dlbook.experiments.__main__ import main

    root = os.environ.get("DLBOOK_DATA")
    if not root or not (Path(root) / "tinyshakespeare" / "input.txt").is_file():
        pytest.skip("DLBOOK_DATA has no tinyshakespeare/input.txt")
    if not (Path(root) / "word-similarity").is_dir():
        pytest.skip("DLBOOK_DATA has no word-similarity folder")
    main(["embeddings", "--corpora", "tinyshakespeare", "--models", "dlbook-sg", "--budget", "smoke",
          "--window", "3", "--dim", "12", "--epochs", "1", "--threads", "1", "--out", str(tmp_path)])
    rec = json.loads((tmp_path / "embeddings.json").read_text())
    assert (rec["hyper_parameters"]["window"], rec["hyper_parameters"]["dim"], rec["hyper_parameters"]["epochs"]) \
        == (3, 12, 1)


def test_sgns_grad_u_scale_multiplies_each_row():
    g = torch.Generator().manual_seed(0)
    h, u = torch.randn(3, 4, generator=g, dtype=torch.float64), torch.randn(3, 6, 4, generator=g, dtype=torch.float64)
    scale = torch.rand(3, 6, generator=g, dtype=torch.float64)
    loss, gh, gu = sgns_loss_and_grad(h, u)
    loss2, gh2, gu2 = sgns_loss_and_grad(h, u, grad_u_scale=scale)
    assert torch.equal(loss, loss2) and torch.equal(gh, gh2)
    assert torch.allclose(gu2, gu * scale.unsqueeze(2), rtol=0, atol=1e-15)
