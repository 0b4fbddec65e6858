"""Tests of dlbook.init: variances at a fixed seed, fans, initialize_ and warm_start."""

import math

import pytest
import torch

from dlbook import init


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    "fn,var",
    [
        (init.lecun_normal_, lambda fi, fo: 1 / fi),
        (init.xavier_normal_, lambda fi, fo: 2 / (fi + fo)),
        (init.xavier_uniform_, lambda fi, fo: 2 / (fi + fo)),
        (init.he_normal_, lambda fi, fo: 2 / fi),
        (init.he_uniform_, lambda fi, fo: 2 / fi),
    ],
)
@pytest.mark.parametrize("shape", [(600, 400), (128, 64, 3, 3)])
def test_variance(fn, var, shape):
    w = fn(torch.empty(shape, dtype=torch.float64), generator=_g())
    fi, fo = init.fans(w)
    target = var(fi, fo)
    n = w.numel()
    # the sample variance has relative standard deviation about sqrt(2 / n) (normal)
    assert abs(w.var().item() / target - 1) < 6 * math.sqrt(2 / n)
    assert abs(w.mean().item()) < 6 * math.sqrt(target / n)


def test_uniform_bounds_exact():
    w = init.xavier_uniform_(torch.empty(200, 300), generator=_g())
    a = math.sqrt(6 / 500)
    assert w.abs().max() <= a and w.abs().max() > 0.99 * a
    w = init.he_uniform_(torch.empty(200, 300), generator=_g())
    assert w.abs().max() <= math.sqrt(6 / 300)


def test_fans_match_torch():
    for shape in [(10, 784), (64, 32, 3, 3), (16, 8, 5), (4, 2, 3, 3, 3)]:
        t = torch.empty(shape)
        assert init.fans(t) == torch.nn.init._calculate_fan_in_and_fan_out(t)


def test_he_fan_out_and_gain():
    w = init.he_normal_(torch.empty(800, 200, dtype=torch.float64), mode="fan_out", generator=_g())
    assert abs(w.var().item() * 800 / 2 - 1) < 0.02
    w = init.xavier_normal_(torch.empty(500, 500, dtype=torch.float64), gain=2.0, generator=_g())
    assert abs(w.var().item() / (4 * 2 / 1000) - 1) < 0.02


def test_seeded_reproducible():
    a = init.he_normal_(torch.empty(5, 5), generator=_g(3))
    b = init.he_normal_(torch.empty(5, 5), generator=_g(3))
    assert torch.equal(a, b)


def test_bad_arguments():
    with pytest.raises(ValueError, match="2-D or more"):
        init.lecun_normal_(torch.empty(5))
    with pytest.raises(TypeError, match="floating"):
        init.he_normal_(torch.empty(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="mode"):
        init.he_normal_(torch.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="gain"):
        init.xavier_uniform_(torch.empty(3, 3), gain=-1.0)
    with pytest.raises(ValueError, match="scheme"):
        init.initialize_(torch.nn.Linear(2, 2), "glorot")


def test_initialize_model():
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3), torch.nn.Flatten(), torch.nn.Linear(8 * 26 * 26, 10)
    )
    init.initialize_(net, "xavier_uniform", generator=_g())
    assert net[0].bias.abs().sum() == 0 and net[2].bias.abs().sum() == 0
    assert net[2].weight.abs().max() <= math.sqrt(6 / (8 * 26 * 26 + 10))


def test_warm_start_copies_and_checks_shapes():
    shallow = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    deep = torch.nn.Sequential(
        torch.nn.Linear(4, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 2),
    )
    middle = deep[2].weight.detach().clone()
    pairs = init.warm_start(deep, shallow)
    assert pairs == [("0", "0"), ("4", "2")]
    assert torch.equal(deep[0].weight, shallow[0].weight) and torch.equal(
        deep[4].bias, shallow[2].bias
    )
    assert torch.equal(deep[2].weight, middle)
    # with an identity middle layer, the deep ReLU net computes the shallow one exactly
    with torch.no_grad():
        deep[2].weight.copy_(torch.eye(8))
        deep[2].bias.zero_()
    x = torch.randn(16, 4)
    torch.testing.assert_close(deep(x), shallow(x))
    wrong = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2))
    with pytest.raises(ValueError, match="does not match"):
        init.warm_start(wrong, shallow)
    with pytest.raises(ValueError, match="fewer"):
        init.warm_start(torch.nn.Linear(4, 2), shallow)
