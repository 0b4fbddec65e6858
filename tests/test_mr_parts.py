"""MR data and protocol, Adadelta, the max-norm constraint, fo-pooling, the sequence layers and NBSVM."""

import io
import tarfile

import pytest
import torch

from dlbook.data import DataNotAvailableError, kfold_train_test, load_mr, registry, stratified_kfold
from dlbook.functional import fo_pool
from dlbook.nbsvm import NBSVM, ngrams
from dlbook.nn import QRNN, ConvOverTime
from dlbook.nn.sequence import windows_product
from dlbook.optim import Adadelta, max_norm_
from dlbook.text import NEGATION_SCOPE_END, NEGATIONS, kim_tokenize, mark_negation

POS = "a gorgeous , witty film .\nthe best movie of the year\n"
NEG = "a dull , lifeless mess .\nworst film of the year \xe9\n"


def _fake_mr(tmp_path, monkeypatch, archive=True):
    """Register a tiny MR whose archive lives at a file:// URL under tmp_path."""
    import hashlib

    raw = {"rt-polarity.pos": POS.encode("latin-1"), "rt-polarity.neg": NEG.encode("latin-1")}
    tar_path = tmp_path / "rt-polaritydata.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        for name, data in raw.items():
            info = tarfile.TarInfo("rt-polaritydata/" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    url = tar_path.as_uri() if archive else "https://example.invalid/none.tar.gz"
    files = tuple(registry.DataFile(n, hashlib.sha256(d).hexdigest(), (url,), member="rt-polaritydata/" + n)
                  for n, d in raw.items())
    monkeypatch.setitem(registry.REGISTRY, "mr", registry.DataSet("mr", "tiny", "test", files))


def test_load_mr_extracts_from_archive_and_decodes_latin1(tmp_path, monkeypatch):
    _fake_mr(tmp_path, monkeypatch)
    sentences, labels = load_mr(root=tmp_path / "data")
    assert labels.tolist() == [1, 1, 0, 0]
    assert sentences[3] == "worst film of the year \xe9"
    assert (tmp_path / "data" / "mr" / "rt-polarity.neg").read_bytes() == NEG.encode("latin-1")


def test_load_mr_missing_file_names_file_and_path(tmp_path, monkeypatch):
    monkeypatch.setenv("DLBOOK_DATA", str(tmp_path))
    with pytest.raises(DataNotAvailableError) as err:
        load_mr(download=False)
    msg = str(err.value)
    assert "rt-polarity.pos" in msg and str(tmp_path / "mr" / "rt-polarity.pos") in msg
    assert "rt-polaritydata.tar.gz" in msg


def test_registry_has_the_real_mr_checksums():
    ds = registry.get_dataset("mr")
    assert {f.name for f in ds.files} == {"rt-polarity.pos", "rt-polarity.neg"}
    assert all(f.urls[0].startswith("https://www.cs.cornell.edu/") and len(f.sha256) == 64 for f in ds.files)


def test_kim_tokenize_rules():
    assert kim_tokenize("Don't you've they're I'd we'll") == ["do", "n't", "you", "'ve", "they", "'re", "i",
                                                               "'d", "we", "'ll"]
    assert kim_tokenize("wow!what?(yes),\"no\" caf\xe9") == ["wow", "!", "what", "?", "(", "yes", ")", ",",
                                                             "no", "caf"]
    assert kim_tokenize("ABC", lower=False) == ["ABC"]
    with pytest.raises(TypeError, match="'text'"):
        kim_tokenize(["a"])


def test_mark_negation_scopes():
    """NOT_ runs from a negation to the next scope end; every token kept, in order; the ends never marked."""
    toks = kim_tokenize("I can't say it isn't funny, but it never works as a drama! Not bad?")
    assert mark_negation(toks) == ["i", "ca", "n't", "NOT_say", "NOT_it", "NOT_is", "NOT_n't", "NOT_funny", ",",
                                   "but", "it", "never", "NOT_works", "NOT_as", "NOT_a", "NOT_drama", "!", "not",
                                   "NOT_bad", "?"]
    assert mark_negation([]) == [] and mark_negation(["good", "film"]) == ["good", "film"]
    assert mark_negation(["no"]) == ["no"]
    assert mark_negation(["without", "x"], negations={"never"}) == ["without", "x"]
    assert mark_negation(["not", "x", ";", "y"], scope_end={";"}) == ["not", "NOT_x", ";", "y"]
    for sentence in ("not even a little , sorry", "nothing here but no one cares"):
        toks = sentence.split()
        marked = mark_negation(toks)
        assert [m.removeprefix("NOT_") for m in marked] == toks
        assert not any(m.startswith("NOT_") and m[4:] in NEGATION_SCOPE_END for m in marked)
    assert {"not", "n't", "never"} <= set(NEGATIONS)
    with pytest.raises(TypeError, match="argument 'tokens' must be a sequence of str"):
        mark_negation("not good")
    with pytest.raises(TypeError, match="non-str items"):
        mark_negation(["not", 1])


def test_nbsvm_neg_row_fits_on_marked_tokens():
    """The nbsvm-neg row is NBSVM-bi fitted and scored on mark_negation's tokens, nothing else."""
    from dlbook.experiments import mr

    sentences, labels, folds = mr._corpus()
    data = mr.build_fold(sentences, labels, folds, 0)
    row = mr.run_fold("nbsvm-neg", 0, "smoke", data=data, progress=False, keep_model=True)
    train = [mark_negation(t) for t in data["train"]["tokens"] + data["val"]["tokens"]]
    nb = NBSVM(n=2).fit(train, torch.cat([data["train"]["labels"], data["val"]["labels"]]))
    scores = nb.decision_function([mark_negation(t) for t in data["test"]["tokens"]])
    assert row["test_accuracy"] == ((scores > 0).long() == data["test"]["labels"]).double().mean().item()
    assert any(w.startswith("NOT_") for w in row["nbsvm"].vocab.itos)


def test_folds_are_stratified_disjoint_complete_and_reproducible():
    g = torch.Generator().manual_seed(1)
    labels = (torch.rand(1003, generator=g) < 0.3).long()
    folds = stratified_kfold(labels, 10, seed=3)
    allidx = torch.cat(folds)
    assert len(allidx) == 1003 and len(torch.unique(allidx)) == 1003
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    n1 = int(labels.sum())
    for f in folds:
        assert abs(int(labels[f].sum()) - n1 / 10) < 1
    again = stratified_kfold(labels, 10, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(folds, again))
    assert not all(torch.equal(a, b) for a, b in zip(folds, stratified_kfold(labels, 10, seed=4)))
    train, test = kfold_train_test(folds, 2)
    assert len(set(train.tolist()) & set(test.tolist())) == 0 and len(train) + len(test) == 1003
    with pytest.raises(ValueError, match="n_folds"):
        stratified_kfold(labels, 1)


def test_adadelta_matches_torch():
    torch.manual_seed(0)
    for wd in (0.0, 0.01):
        a = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
        b = a.detach().clone().requires_grad_(True)
        ours, ref = Adadelta([a], lr=0.7, rho=0.95, eps=1e-6, weight_decay=wd), \
            torch.optim.Adadelta([b], lr=0.7, rho=0.95, eps=1e-6, weight_decay=wd)
        target = torch.randn(5, 3, dtype=torch.float64)
        for _ in range(30):
            for p, opt in ((a, ours), (b, ref)):
                opt.zero_grad()
                ((p - target) ** 4).sum().backward()
                opt.step()
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="'rho'"):
        Adadelta([a], rho=1.5)


def test_max_norm_holds_after_each_step():
    torch.manual_seed(0)
    lin = torch.nn.Linear(20, 2)
    opt = torch.optim.SGD(lin.parameters(), lr=5.0)
    x, y = torch.randn(64, 20) * 3, torch.randint(0, 2, (64,))
    for _ in range(10):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(lin(x), y).backward()
        opt.step()
        before = lin.weight.detach().clone()
        max_norm_(lin.weight, 3.0)
        norms = lin.weight.norm(dim=1)
        assert (norms <= 3.0 + 1e-5).all()
        small = before.norm(dim=1) <= 3.0  # rows inside the ball are untouched, others rescaled, same direction
        assert torch.equal(lin.weight[small], before[small])
        torch.testing.assert_close(lin.weight[~small], before[~small] / before[~small].norm(dim=1, keepdim=True) * 3)
    with pytest.raises(ValueError, match="max_norm"):
        max_norm_(lin.weight, 0.0)


def _qrnn_inputs(T=5, N=3, H=4, dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(T, N, H, generator=g, dtype=dtype).requires_grad_()
    f = torch.rand(T, N, H, generator=g, dtype=dtype).requires_grad_()
    o = torch.rand(T, N, H, generator=g, dtype=dtype).requires_grad_()
    c0 = torch.randn(N, H, generator=g, dtype=dtype).requires_grad_()
    return z, f, o, c0


def _fo_reference(z, f, o, c0):
    c, cs = c0, []
    for t in range(z.shape[0]):
        c = f[t] * c + (1 - f[t]) * z[t]
        cs.append(c)
    c = torch.stack(cs)
    return (c if o is None else o * c), c


def test_fo_pool_gradcheck_and_double_backward():
    z, f, o, c0 = _qrnn_inputs()
    assert torch.autograd.gradcheck(fo_pool, (z, f, o, c0))
    assert torch.autograd.gradgradcheck(fo_pool, (z, f, o, c0))
    assert torch.autograd.gradcheck(lambda z, f, c0: fo_pool(z, f, None, c0), (z, f, c0))
    for ours, ref in zip(fo_pool(z, f, o, c0), _fo_reference(z, f, o, c0)):
        torch.testing.assert_close(ours, ref)


def test_fo_pool_edge_cases():
    z, f, o, c0 = _qrnn_inputs()
    h, c = fo_pool(z[:, :0], f[:, :0], o[:, :0], c0[:0])  # empty batch
    assert h.shape == (5, 0, 4)
    h, c = fo_pool(z[:0], f[:0], o[:0], c0)  # no time steps
    assert h.shape == (0, 3, 4)
    (h.sum() + c.sum()).backward()
    zt = z.detach().transpose(0, 1).contiguous().transpose(0, 1)  # non-contiguous
    torch.testing.assert_close(fo_pool(zt, f, o, c0)[0], fo_pool(z, f, o, c0)[0])
    zi = z.detach().clone()
    zi[2, 0, 0] = float("inf")
    h, _ = fo_pool(zi, f.detach(), o.detach(), c0.detach())
    ref, _ = _fo_reference(zi, f.detach(), o.detach(), c0.detach())
    torch.testing.assert_close(h, ref, equal_nan=True)
    zn = z.detach().clone()
    zn[1, 1, 1] = float("nan")
    assert torch.isnan(fo_pool(zn, f, o, c0)[0][1:, 1, 1]).all()
    assert not torch.isnan(fo_pool(zn, f, o, c0)[0][:, 0]).any()
    with pytest.raises(ValueError, match="'f'"):
        fo_pool(z, f[:, :2])
    with pytest.raises(ValueError, match=r"\(T, N, H\)"):
        fo_pool(z[0], f[0])
    with pytest.raises(TypeError, match="'z'"):
        fo_pool(z.detach().long(), f)


def test_conv_over_time_is_conv1d_and_qrnn_is_causal():
    torch.manual_seed(0)
    conv = ConvOverTime(6, 4, 3, padding=1).double()
    x = torch.randn(2, 7, 6, dtype=torch.float64)
    w = conv.weight.view(4, 3, 6).permute(0, 2, 1)  # (C, E, k)
    ref = torch.nn.functional.conv1d(x.transpose(1, 2), w, conv.bias, padding=1).transpose(1, 2)
    torch.testing.assert_close(conv(x), ref)
    xp = torch.nn.functional.pad(x, (0, 0, 1, 1))
    torch.testing.assert_close(windows_product(xp, conv.weight, conv.bias), ref)
    q = QRNN(6, 5, window=2, batch_first=True).double()
    h, c = q(x)
    x2 = x.clone()
    x2[:, 4:] = 0  # changing steps 4.. leaves steps 0..3 unchanged
    h2, _ = q(x2)
    torch.testing.assert_close(h[:, :4], h2[:, :4])
    assert not torch.allclose(h[:, 4:], h2[:, 4:])
    torch.testing.assert_close(c, h[:, -1] / torch.sigmoid(q.conv(torch.nn.functional.pad(x, (0, 0, 1, 0)))
                                                          [:, -1, 10:]))


def test_nbsvm_learns_and_ignores_unknown_ngrams():
    assert ngrams(["a", "b", "c"], 3) == ["a", "b", "c", "a b", "b c", "a b c"]
    docs = [["good", "film"], ["bad", "film"], ["very", "good"], ["very", "bad"], ["not", "bad"]] * 3
    y = torch.tensor([1, 0, 1, 0, 1] * 3)
    m = NBSVM().fit(docs, y)
    assert torch.equal(m.predict(docs), y)
    assert "not bad" in m.vocab and m.r[m.vocab.stoi["good"]] > 0 > m.r[m.vocab.stoi["bad"]]
    assert m.predict([["unseen", "words"]]).shape == (1,)
    with pytest.raises(ValueError, match="'labels'"):
        NBSVM().fit(docs, y[:3])


@pytest.mark.parametrize("bias", [False, True])
def test_nbsvm_reaches_the_stationary_point_of_its_objective(bias):
    g = torch.Generator().manual_seed(0)
    words = [f"w{i}" for i in range(12)]
    docs = [[words[j] for j in torch.randint(0, 12, (5,), generator=g).tolist()] for _ in range(60)]
    y = torch.tensor([1 if d.count("w0") + d.count("w1") > d.count("w2") else 0 for d in docs])
    y[:20] = 1  # unbalanced classes, so an intercept has something to do
    m = NBSVM(n=1, C=0.5, beta=1.0, bias=bias, max_iter=500).fit(docs, y)  # beta = 1: w' is the SVM's w
    X = torch.zeros(len(docs), len(m.vocab), dtype=torch.float64)
    for i, d in enumerate(docs):
        X[i, [m.vocab.stoi[t] for t in set(d)]] = 1
    Xr, s = X * m.r, y.double() * 2 - 1
    slack = torch.clamp(1 - s * (Xr @ m.w + m.b), min=0)
    torch.testing.assert_close(m.w, 2 * 0.5 * Xr.t() @ (s * slack), atol=1e-5, rtol=1e-4)  # d/dw = 0
    if bias:
        assert abs(float((s * slack).sum())) < 1e-5 and float(m.b) != 0.0  # d/db = 0
    else:
        assert float(m.b) == 0.0
    with pytest.raises(ValueError, match="'bias'"):
        NBSVM(bias=1)


@pytest.mark.parametrize("bias", [False, True])
def test_nbsvm_interpolates_the_svm_weights_and_keeps_its_intercept(bias):
    docs = [["good", "film"], ["bad", "film"], ["very", "good"], ["very", "bad"], ["not", "bad"], ["a", "film"]] * 3
    y = torch.tensor([1, 0, 1, 0, 1, 1] * 3)
    svm = NBSVM(beta=1.0, bias=bias).fit(docs, y)  # beta = 1: the SVM's own w and b
    m = NBSVM(beta=0.25, bias=bias).fit(docs, y)
    torch.testing.assert_close(m.w, 0.75 * svm.w.abs().mean() + 0.25 * svm.w, rtol=0, atol=1e-12)
    assert torch.equal(m.b, svm.b) and (float(m.b) != 0.0) == bias
    x = m._binary([["very", "good", "film"]]).to_dense()[0]  # w'^T x~ + b = (1 - beta) w_bar r^T x^ + beta w^T x~ + b
    torch.testing.assert_close(m.decision_function([["very", "good", "film"]])[0],
                               0.75 * svm.w.abs().mean() * m.r.dot(x) + 0.25 * svm.w.dot(m.r * x) + svm.b)


def test_adadelta_lazy_rows_gives_the_same_parameters():
    torch.manual_seed(0)
    a = torch.randn(8, 3, dtype=torch.float64, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    ours, ref = Adadelta([a], rho=0.95, lazy_rows=True), torch.optim.Adadelta([b], rho=0.95)
    for step in range(40):
        rows = torch.randperm(8)[: 1 + step % 4]  # most rows get no gradient at a given step
        for p, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            (p[rows] ** 2).sum().backward()
            opt.step()
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="lazy_rows"):
        Adadelta([a], lazy_rows=True, weight_decay=0.1)


def test_stack_log_odds_recovers_calibration_and_weights():
    from dlbook.experiments.mr import apply_stack, stack_log_odds

    g = torch.Generator().manual_seed(0)
    true = torch.randn(20000, generator=g, dtype=torch.float64) * 2
    y = (torch.rand(20000, generator=g, dtype=torch.float64) < torch.sigmoid(true)).long()
    noise = torch.randn(20000, generator=g, dtype=torch.float64)
    fit = stack_log_odds(torch.stack([noise, 3 * true], 1), y)  # model 0 carries nothing; model 1 is 3x too sure
    assert abs(fit["a"][1] - 1 / 3) < 0.02 and abs(fit["b"][1]) < 0.05
    assert fit["weights"][0] < 0.02 and abs(fit["weights"][1] - 1) < 0.05
    fit = stack_log_odds(torch.stack([2 * true - 1, noise], 1), y)  # the score maps back by a = 1/2, b = 1/2
    assert abs(fit["a"][0] - 0.5) < 0.02 and abs(fit["b"][0] - 0.5) < 0.05 and fit["weights"][1] < 0.02
    # two models that each see half of the evidence: the ensemble adds their calibrated log-odds
    half = torch.randn(20000, generator=g, dtype=torch.float64) * 2
    y2 = (torch.rand(20000, generator=g, dtype=torch.float64) < torch.sigmoid(true + half)).long()
    fit = stack_log_odds(torch.stack([true, half], 1), y2)
    assert min(fit["weights"]) > 1.0
    z = apply_stack(torch.stack([true, half], 1), fit)
    assert float(((z > 0).long() == y2).double().mean()) > float(((true > 0).long() == y2).double().mean()) + 0.05
    with pytest.raises(ValueError, match=r"argument 'scores' must have shape \(N, M\) with N = len\(y\) = 20000"):
        stack_log_odds(torch.stack([noise, true], 1)[:5], y)
    with pytest.raises(ValueError, match=r"argument 'scores' must have shape \(N, 2\)"):
        apply_stack(noise.unsqueeze(1), fit)


def test_stack_ablation_refits_without_each_member_and_group():
    """'all' is the ensemble itself; each other entry is the ensemble fitted and applied without some members."""
    from dlbook.experiments.mr import _score_accuracy, apply_stack, stack_ablation, stack_log_odds

    g = torch.Generator().manual_seed(1)
    true = torch.randn(6000, generator=g, dtype=torch.float64) * 2
    y = (torch.rand(6000, generator=g, dtype=torch.float64) < torch.sigmoid(true)).long()
    noise = torch.randn(6000, 2, generator=g, dtype=torch.float64)
    s = torch.cat([(true + noise[:, 0]).unsqueeze(1), (true + noise[:, 1]).unsqueeze(1), noise[:, :1] * 3], 1)
    val, test = slice(0, 2000), slice(2000, None)
    out = stack_ablation(s[val], y[val], s[test], y[test], ["a", "b", "noise"], {"the signal": ["a", "b"]})
    assert list(out) == ["all", "without a", "without b", "without noise", "without the signal"]
    for key, cols in {"all": [0, 1, 2], "without a": [1, 2], "without the signal": [2]}.items():
        fit = stack_log_odds(s[val][:, cols], y[val])
        assert out[key] == _score_accuracy(apply_stack(s[test][:, cols], fit), y[test])
    assert out["without the signal"] < 0.6 < out["without a"] < out["all"]  # two noisy views beat one
    assert abs(out["without noise"] - out["all"]) < 0.01  # the noise member carries nothing
    with pytest.raises(ValueError, match=r"'val_scores' and 'test_scores' must have shapes \(N_val, 3\)"):
        stack_ablation(s[val][:, :2], y[val], s[test], y[test], ["a", "b", "noise"])
    with pytest.raises(ValueError, match=r"argument 'groups' names members not in 'names': \['c'\]"):
        stack_ablation(s[val], y[val], s[test], y[test], ["a", "b", "noise"], {"x": ["c"]})
    with pytest.raises(ValueError, match="leaves no member"):
        stack_ablation(s[val], y[val], s[test], y[test], ["a", "b", "noise"], {"every": ["a", "b", "noise"]})


def test_weights_tuned_on_test_picks_the_best_test_weights_and_overstates_accuracy():
    """Weights chosen on the test fold score best there, and worse on new sentences from the same source."""
    from dlbook.experiments.mr import _score_accuracy, apply_stack, stack_log_odds, weights_tuned_on_test

    g = torch.Generator().manual_seed(3)

    def draw(n):  # five members: each sees the true log-odds through its own noise
        true = torch.randn(n, generator=g, dtype=torch.float64)
        y = (torch.rand(n, generator=g, dtype=torch.float64) < torch.sigmoid(2 * true)).long()
        return true.unsqueeze(1) + torch.randn(n, 5, generator=g, dtype=torch.float64) * torch.tensor(
            [0.5, 0.7, 1.0, 1.5, 2.0], dtype=torch.float64), y

    (s_val, y_val), (s_test, y_test), (s_new, y_new) = draw(1000), draw(500), draw(50000)
    fit = stack_log_odds(s_val, y_val)
    out = weights_tuned_on_test(s_test, y_test, fit, draws=5000)
    assert out["fitted_accuracy"] == _score_accuracy(apply_stack(s_test, fit), y_test)
    tuned = {**fit, "weights": out["weights"]}
    assert out["accuracy"] == _score_accuracy(apply_stack(s_test, tuned), y_test)  # the weights returned reach it
    assert min(out["weights"]) >= 0 and abs(sum(out["weights"]) - 1) < 1e-12
    assert out["accuracy"] >= out["fitted_accuracy"]
    assert weights_tuned_on_test(s_test, y_test, fit, draws=0)["accuracy"] == out["fitted_accuracy"]
    assert weights_tuned_on_test(s_test, y_test, fit, draws=5000) == out  # seeded
    # the inflation: on new sentences, the test-tuned weights do no better than the validation-fitted ones
    on_test, on_new = out["accuracy"], _score_accuracy(apply_stack(s_new, tuned), y_new)
    fitted_new = _score_accuracy(apply_stack(s_new, fit), y_new)
    assert on_test - on_new > 0.01 and on_new < fitted_new + 0.005
    with pytest.raises(ValueError, match=r"argument 'test_scores' must have shape \(N, 5\) with N = len\(test_y\)"):
        weights_tuned_on_test(s_test[:, :4], y_test, fit)
    with pytest.raises(ValueError, match=r"argument 'test_scores' must have shape \(N, 5\)"):
        weights_tuned_on_test(s_test, y_test[:-1], fit)
    with pytest.raises(ValueError, match="argument 'draws' must be >= 0, got -1"):
        weights_tuned_on_test(s_test, y_test, fit, draws=-1)
