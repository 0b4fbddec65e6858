"""Language models: each trains and its loss drops; tying, state carry, variational dropout (issue 16)."""

from __future__ import annotations

import math

import pytest
import torch

from dlbook.data import batchify
from dlbook.models import build_model, evaluate, sample_text, train_lm
from dlbook.models.lm import RNNLM, GatedCNNLM, locked_dropout
from dlbook.text import Vocab

WORDS = "the cat sat on the mat <eos> a dog ran to the park <eos> the bird sang in a tree <eos>".split()
VOCAB = Vocab(WORDS, specials=("<unk>", "<eos>"))
STREAM = VOCAB.encode(WORDS * 40)

SPECS = {
    "lstm": dict(model="lstm", emb=16, hidden=16, layers=2, dropout=0.1, tie=True),
    "lstm-variational": dict(model="lstm", emb=16, hidden=16, layers=2, dropout=0.1, variational=True),
    "gru": dict(model="gru", emb=16, hidden=16, layers=1),
    "lstm-adaptive": dict(model="lstm", emb=16, hidden=16, layers=1, cutoffs=[4, 10]),
    "gcnn": dict(model="gcnn", hidden=16, layers=3, kernel=3),
    "gcnn_lstm": dict(model="gcnn_lstm", hidden=16, layers=2, kernel=3, rnn_layers=1),
    "char": dict(model="char", hidden=16, layers=1, char_size=4, widths=(1, 2, 3), maps=3),
    "attention": dict(model="attention", hidden=16, window=4),
    "context": dict(model="context", hidden=16),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_model_trains_and_loss_drops(name):
    torch.manual_seed(0)
    model = build_model(SPECS[name], VOCAB)
    data = batchify(STREAM, 4)
    before = evaluate(model, data, bptt=8)["ppl"]
    optimizer, lr = "adam", 0.01
    losses = []
    train_lm(model, data, None, bptt=8, lr=lr, clip=5.0, epochs=6, optimizer=optimizer, progress=False,
             step_hook=lambda step, loss: losses.append(loss))
    after = evaluate(model, data, bptt=8)["ppl"]
    assert len(losses) >= 20 and math.isfinite(after)
    assert after < 0.7 * before, (before, after)
    assert sum(losses[-5:]) < sum(losses[:5])
    text = sample_text(model, VOCAB, ["the"], length=5, beta=2.0, generator=torch.Generator().manual_seed(0))
    assert len(text) == 5 and all(w in VOCAB for w in text)


def test_tying_shares_one_tensor_and_needs_equal_sizes():
    m = RNNLM(20, 8, 8, tie=True)
    assert m.decoder_weight is m.embedding.weight
    assert sum(p.numel() for p in m.parameters()) == sum(p.numel() for p in RNNLM(20, 8, 8).parameters()) - 20 * 8
    with pytest.raises(ValueError, match="emb_size == hidden_size"):
        RNNLM(20, 8, 6, tie=True)


def test_gated_cnn_state_spans_windows():
    torch.manual_seed(0)
    m = GatedCNNLM(30, 6, num_layers=2, kernel_size=3).eval()
    x = torch.randint(30, (10, 3))
    whole, _ = m.features(x, None)
    a, state = m.features(x[:4], None)
    b, _ = m.features(x[4:], state)
    torch.testing.assert_close(torch.cat((a, b)), whole)


def test_variational_mask_is_shared_over_time():
    x = torch.ones(50, 3, 40)
    y = locked_dropout(x, 0.5, True, variational=True)
    assert torch.equal(y, y[:1].expand_as(y))
    assert 0.3 < (y[0] == 0).float().mean() < 0.7
    z = locked_dropout(x, 0.5, True, variational=False)
    assert not torch.equal(z, z[:1].expand_as(z))
    assert torch.equal(locked_dropout(x, 0.5, False, True), x)


def test_evaluation_carries_state_and_counts_every_token():
    torch.manual_seed(0)
    m = RNNLM(len(VOCAB), 8, 8)
    data = batchify(STREAM[:200], 2)
    r = evaluate(m, data, bptt=7)
    assert r["tokens"] == (data.shape[0] - 1) * 2
    # one window over the whole stream gives the same total: the state is carried, not reset
    whole = evaluate(m, data, bptt=data.shape[0])
    assert r["nll"] == pytest.approx(whole["nll"], rel=1e-5)


def test_bad_input_named():
    m = RNNLM(10, 4, 4)
    with pytest.raises(ValueError, match="'input'"):
        m(torch.zeros(3, 2), torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="'target'"):
        m(torch.zeros(3, 2, dtype=torch.long), torch.zeros(2, 2, dtype=torch.long))


def test_plateau_decay_compares_epoch_ends_with_the_best_epoch_end(monkeypatch):
    """The learning rate drops by 4 only when an epoch ends no better than every earlier epoch's end."""
    import dlbook.models.lm as lm

    scripted = iter([100.0, 90.0,   # epoch 1 ends at 90
                     80.0, 95.0,    # epoch 2 ends worse than 90: lr / 4
                     70.0, 85.0,    # epoch 3 ends at 85 < 90: kept, although 85 > 70 within the epoch
                     84.0, 86.0])   # epoch 4 ends worse than 85: lr / 4
    monkeypatch.setattr(lm, "evaluate", lambda *args, **kwargs: {"ppl": next(scripted)})
    torch.manual_seed(0)
    model = build_model(SPECS["gru"], VOCAB)
    data = batchify(STREAM, 4)
    out = train_lm(model, data, data, bptt=8, lr=20.0, epochs=4, evals_per_epoch=2, progress=False)
    assert [p["lr"] for p in out["curve"]] == [20.0, 20.0, 20.0, 20.0, 5.0, 5.0, 5.0, 5.0]
    assert [p["valid_ppl"] for p in out["curve"]][-1] == 86.0


def test_results_name_follows_dataset_and_name():
    from argparse import Namespace

    from dlbook.experiments.lm import results_name
    assert results_name(Namespace(dataset="ptb", name=None)) == "lm.json"
    assert results_name(Namespace(dataset="gutenberg", name=None)) == "lm-gutenberg.json"
    assert results_name(Namespace(dataset="ptb", name="lm-claims.json")) == "lm-claims.json"


def test_rows_tied_to_a_corpus_refuse_another():
    from dlbook.experiments.lm import check_rows

    check_rows(["gutenberg-2x250-tied", "tiny"], "gutenberg")
    check_rows(["tiny", "zaremba-small"], "ptb")
    with pytest.raises(ValueError, match="gutenberg-2x250-tied.*--dataset.*gutenberg.*not 'ptb'"):
        check_rows(["tiny", "gutenberg-2x250-tied"], "ptb")


@pytest.mark.parametrize("clip", [0.5, 1e3])  # the clip binds, and it does not
def test_summed_over_window_gives_the_papers_update(clip):
    """lr and clip stated for the loss summed over a window's steps give the same step through train_lm's mean loss."""
    from dlbook.experiments.lm import summed_over_window
    from dlbook.optim import clip_grad_norm_

    spec, bptt, lr = dict(model="lstm", emb=16, hidden=16, layers=2), 8, 1.0
    data = batchify(STREAM, 4)
    torch.manual_seed(0)
    papers = build_model(spec, VOCAB).double()
    ours = build_model(spec, VOCAB).double()
    ours.load_state_dict(papers.state_dict())
    before = {k: v.clone() for k, v in papers.state_dict().items()}
    # the papers' step: sum over the window's steps of each step's batch-mean NLL, clipped, then lr
    x, y = data[:bptt], data[1:bptt + 1]
    nll, _ = papers(x, y, None)
    (nll / y.shape[1]).backward()
    clip_grad_norm_(list(papers.parameters()), clip)
    with torch.no_grad():
        for p in papers.parameters():
            p.add_(p.grad, alpha=-lr)
    train_lm(ours, data, None, **summed_over_window(lr, clip, bptt), max_steps=1, progress=False)
    # the clip scales by max_norm / (norm + 1e-6); that 1e-6 does not scale with the sum, so equal to 1e-6 if it binds
    for (name, a), b, c in zip(papers.state_dict().items(), ours.state_dict().values(), before.values()):
        assert not torch.equal(a, c), name
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6 if clip < 1 else 1e-12, msg=name)


class _Stop(Exception):
    pass


@pytest.mark.parametrize("name,optimizer", [("lstm", "sgd"), ("lstm-variational", "adam"), ("gcnn_lstm", "adam"),
                                            ("char", "sgd"), ("attention", "sgd"), ("context", "sgd")])
def test_a_stopped_run_resumes_to_the_same_result(tmp_path, name, optimizer):
    """Killed mid-epoch after a checkpoint, then started again: the same parameters and curve as one run."""
    data, valid = batchify(STREAM[:-200], 4), batchify(STREAM[-200:], 2)
    kw = dict(bptt=8, lr=0.5 if optimizer == "sgd" else 0.01, clip=5.0, epochs=2.5, evals_per_epoch=3,
              optimizer=optimizer, progress=False, plateau_decay=0.5)

    def trained(checkpoint=None, stop_at=None):
        torch.manual_seed(0)
        model = build_model(SPECS[name], VOCAB)

        def hook(step, loss):
            if step == stop_at:
                raise _Stop

        try:
            return model, train_lm(model, data, valid, checkpoint=checkpoint, step_hook=hook, **kw)
        except _Stop:
            return model, None

    ref_model, ref = trained()
    ck = tmp_path / "row.pt"
    steps = ref["steps"]
    assert trained(ck, stop_at=steps // 2 + 1)[1] is None and ck.exists()  # killed after a mid-run checkpoint
    model, again = trained(ck)
    assert again["segments"] == 2 and again["steps"] == steps and again["tokens"] == ref["tokens"]
    assert [(p["epoch"], p["lr"], round(p["valid_ppl"], 6)) for p in again["curve"]] == \
        [(p["epoch"], p["lr"], round(p["valid_ppl"], 6)) for p in ref["curve"]]
    for a, b in zip(model.state_dict().values(), ref_model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    assert trained(ck)[1]["steps"] == steps  # a finished run started again trains no more


def test_a_finished_run_continues_for_more_epochs_as_if_planned(tmp_path):
    """A checkpoint of a finished 1.5-epoch run, continued with epochs=3: the 3-epoch run, step for step."""
    data, valid = batchify(STREAM[:-200], 4), batchify(STREAM[-200:], 2)
    kw = dict(bptt=8, lr=2.0, clip=5.0, evals_per_epoch=2, progress=False, plateau_decay=0.5, decay_start=2)

    def trained(epochs, checkpoint=None):
        torch.manual_seed(0)
        model = build_model(SPECS["lstm"], VOCAB)
        return model, train_lm(model, data, valid, epochs=epochs, checkpoint=checkpoint, **kw)

    ref_model, ref = trained(3)
    ck = tmp_path / "row.pt"
    short = trained(1.5, ck)[1]
    model, longer = trained(3, ck)
    assert short["steps"] < longer["steps"] == ref["steps"] and longer["segments"] == 2
    assert ref["curve"][-1]["lr"] < 2.0  # the rate fell after the first segment ended
    assert [(p["epoch"], p["lr"], round(p["valid_ppl"], 6)) for p in longer["curve"]] == \
        [(p["epoch"], p["lr"], round(p["valid_ppl"], 6)) for p in ref["curve"]]
    for a, b in zip(model.state_dict().values(), ref_model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_a_checkpoint_from_other_settings_is_refused(tmp_path):
    data = batchify(STREAM, 4)
    ck = tmp_path / "row.pt"
    train_lm(build_model(SPECS["gru"], VOCAB), data, None, bptt=8, epochs=0.2, progress=False, checkpoint=ck)
    with pytest.raises(ValueError, match="checkpoint .* written with settings"):
        train_lm(build_model(SPECS["gru"], VOCAB), data, None, bptt=5, epochs=0.2, progress=False, checkpoint=ck)


def test_kims_decay_rule_halves_when_an_epoch_gains_less_than_decay_when(monkeypatch):
    """decay_when: from the third epoch's end on, a fall of less than 1 from the epoch before halves the rate."""
    import dlbook.models.lm as lm

    scripted = iter([200.0, 150.0,   # epoch 1 ends at 150
                     150.0, 149.5,   # epoch 2 gains only 0.5, but the rule starts at the third epoch's end
                     140.0, 148.8,   # epoch 3 gains 0.7 < 1: lr / 2 (the best-end rule would keep it)
                     120.0, 130.0,   # epoch 4 gains 18.8: kept
                     110.0, 131.0])  # epoch 5 is worse: lr / 2
    monkeypatch.setattr(lm, "evaluate", lambda *args, **kwargs: {"ppl": next(scripted)})
    torch.manual_seed(0)
    model = build_model(SPECS["gru"], VOCAB)
    data = batchify(STREAM, 4)
    out = train_lm(model, data, data, bptt=8, lr=20.0, epochs=5, evals_per_epoch=2, progress=False,
                   plateau_decay=0.5, decay_when=1.0)
    assert [p["lr"] for p in out["curve"]] == [20.0] * 6 + [10.0] * 4


def test_kims_decay_rule_resumes_from_a_checkpoint(monkeypatch, tmp_path):
    """The epoch ends the rule compares are part of the checkpoint: a stopped run continues with the same rates."""
    import dlbook.models.lm as lm

    script = [200.0, 150.0, 150.0, 149.5, 140.0, 148.8, 120.0, 130.0]
    data = batchify(STREAM, 4)
    kw = dict(bptt=8, lr=20.0, evals_per_epoch=2, progress=False, plateau_decay=0.5, decay_when=1.0)
    scripted = iter(script)
    monkeypatch.setattr(lm, "evaluate", lambda *args, **kwargs: {"ppl": next(scripted)})
    torch.manual_seed(0)
    whole = train_lm(build_model(SPECS["gru"], VOCAB), data, data, epochs=4, **kw)
    scripted = iter(script)
    path = tmp_path / "ck.pt"
    torch.manual_seed(0)
    train_lm(build_model(SPECS["gru"], VOCAB), data, data, epochs=2, checkpoint=str(path), **kw)
    torch.manual_seed(1)  # the checkpoint restores the generator
    resumed = train_lm(build_model(SPECS["gru"], VOCAB), data, data, epochs=4, checkpoint=str(path), **kw)
    assert [p["lr"] for p in resumed["curve"]] == [p["lr"] for p in whole["curve"]] == [20.0] * 6 + [10.0] * 2


def test_char_aware_lstm_input_is_not_dropped():
    """Kim et al. drop out between the LSTM's layers and before the decoder, not on the highway's output."""
    from dlbook.models.lm import CharAwareLM

    torch.manual_seed(0)
    m = CharAwareLM(VOCAB.itos, char_size=4, widths=(1, 2), maps_per_width=3, hidden_size=8, num_layers=2,
                    dropout=0.5).train()
    seen = []
    m.rnn.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    x = torch.tensor([[2, 3], [4, 5], [6, 7]])
    m.features(x)
    torch.testing.assert_close(seen[0], m.word_vectors(x))
    out_a, _ = m.features(x)
    out_b, _ = m.features(x)
    assert not torch.equal(out_a, out_b)  # the output's dropout still acts in training


def test_init_is_refused_by_models_that_would_ignore_it():
    from dlbook.data.corpora import Corpus
    from dlbook.experiments.lm import train_row

    stream = STREAM
    corpus = Corpus(train=stream, valid=stream, test=stream, vocab=VOCAB, name="ptb")
    row = dict(model="char", hidden=8, layers=1, char_size=4, maps=3, batch=4, bptt=8, lr=1.0, clip=5.0, epochs=1,
               init=0.05)
    with pytest.raises(ValueError, match="'init'.*'char'"):
        train_row("char-init", row, corpus, "smoke", progress=False)


def test_char_aware_word_vectors_run_once_per_distinct_word():
    """Running the CNN on the distinct words and copying gives each position its own word's vector and gradient."""
    from dlbook.models.lm import CharAwareLM

    torch.manual_seed(0)
    m = CharAwareLM(VOCAB.itos, char_size=4, widths=(1, 2, 3), maps_per_width=3, hidden_size=8).double()
    x = torch.tensor([[2, 3, 2], [4, 2, 5], [3, 3, 2]])
    together = m.word_vectors(x)
    one_by_one = torch.stack([m.word_vectors(t.view(1)).squeeze(0) for t in x.reshape(-1)]).reshape(3, 3, -1)
    torch.testing.assert_close(together, one_by_one)
    weights = torch.randn_like(together)
    grads = [torch.autograd.grad((v * weights).sum(), list(m.parameters()), allow_unused=True)
             for v in (together, one_by_one)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)
