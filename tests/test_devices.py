"""A seed gives the same masks, transforms and features on every device.

Random numbers are drawn where the generator lives (the CPU), then moved;
on a machine without CUDA only the CPU case runs.
"""

import pytest
import torch

from dlbook.data import transforms as T
from dlbook.features import KMeansFeatures
from dlbook.functional import dropout
from dlbook.nn import Dropout
from dlbook.regularization import mc_dropout_predict

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("device", DEVICES)
def test_dropout_same_mask_on_device(device):
    x = torch.randn(64, 32, generator=_g(1))
    ref = dropout(x, 0.3, generator=_g())
    out = dropout(x.to(device), 0.3, generator=_g())
    assert out.device.type == device
    torch.testing.assert_close(out.cpu(), ref)


@pytest.mark.parametrize("device", DEVICES)
def test_transforms_same_result_on_device(device):
    x = torch.rand(8, 28, 28, generator=_g(2))
    aug = T.Compose([
        T.RandomAffine(rotation=10, translation=2, zoom=0.1, shear=5, stretch=0.1),
        T.ElasticDistortion(alpha=20, sigma=4),
        T.RandomHorizontalFlip(0.5),
    ])
    ref = aug(x, generator=_g())
    out = aug(x.to(device), generator=_g())
    assert out.device.type == device
    torch.testing.assert_close(out.cpu(), ref, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
def test_kmeans_features_and_mc_dropout_on_device(device):
    imgs = torch.rand(12, 14, 14, generator=_g(3), dtype=torch.float64)
    km = KMeansFeatures(n_clusters=6, patch_size=4, n_patches=500, iters=5)
    ref = km.fit(imgs, generator=_g()).transform(imgs)
    km2 = KMeansFeatures(n_clusters=6, patch_size=4, n_patches=500, iters=5)
    out = km2.fit(imgs.to(device), generator=_g()).transform(imgs.to(device))
    assert out.device.type == device
    torch.testing.assert_close(out.cpu(), ref, atol=1e-8, rtol=1e-6)
    model = torch.nn.Sequential(Dropout(0.5), torch.nn.Linear(4, 3)).to(device)
    probs = mc_dropout_predict(model, torch.randn(5, 4), n_samples=3, generator=_g())
    assert probs.device.type == "cpu" and torch.allclose(probs.sum(1), torch.ones(5))


@pytest.mark.parametrize("device", DEVICES)
def test_sample_text_same_tokens_on_device(device):
    from dlbook.models import RNNLM, sample_text
    from dlbook.text import Vocab

    vocab = Vocab("the cat sat on the mat".split(), specials=("<unk>", "<eos>"))
    torch.manual_seed(0)
    model = RNNLM(len(vocab), 8, 8)
    ref = sample_text(model, vocab, ["the"], length=12, generator=_g(4))
    out = sample_text(model.to(device), vocab, ["the"], length=12, generator=_g(4))
    assert out == ref


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("row", ["cnn-rand", "bilstm"])
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_mr_rows_train_on_device(row, device, monkeypatch):
    from dlbook.experiments import mr

    monkeypatch.setenv("DLBOOK_DEVICE", device)
    r = mr.run_fold(row, 0, "smoke", progress=False, keep_model=True)
    assert r["test_accuracy"] > 0.55 and r["test_probabilities"].device.type == "cpu"
    assert next(r["model"].parameters()).device.type == "cpu"  # handed back on the CPU
