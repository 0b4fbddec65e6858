"""
Skip-gram and fastText on Tiny Shakespeare, live
================================================

Both of dlbook's models are trained on Tiny Shakespeare (the first
sentences at the ``ci`` budget, all of it by default) with word2vec's
default settings, then evaluated on WordSim-353 and SimLex-999 with their
coverage. The page shows nearest neighbours of a few words and a t-SNE map
(:class:`dlbook.manifold.TSNE`) of the most frequent words with a few word
groups marked. See :doc:`/part7/embeddings`.
"""

# %%
# Training
# --------
import time

import matplotlib.pyplot as plt
import torch

from dlbook.budget import by_budget, get_budget
from dlbook.data import load_word_similarity
from dlbook.embeddings import FastText, SkipGram, evaluate_similarity, load_corpus
from dlbook.manifold import TSNE
from dlbook.plotting import FOREGROUND, PALETTE, use_style

use_style()
torch.manual_seed(0)
sentences = load_corpus("tinyshakespeare")
limit = by_budget(smoke=800, ci=3000, default=None)
sentences = sentences if limit is None else sentences[:limit]
epochs = by_budget(smoke=1, ci=3, default=5)
tokens = sum(map(len, sentences))
print(f"budget={get_budget()}: {len(sentences)} speeches, {tokens} tokens, {epochs} epochs")

settings = dict(dim=100, window=5, negative=5, min_count=5 if limit is None else 2, epochs=epochs, seed=0)
models = {}
for name, cls, extra in [("skip-gram", SkipGram, {}), ("fastText", FastText, {"buckets": 100_000})]:
    start = time.perf_counter()
    models[name] = cls(**settings, **extra).fit(sentences)
    print(f"{name}: {len(models[name].vocab)} words, {time.perf_counter() - start:.1f} s, "
          f"loss {models[name].losses[0]:.2f} -> {models[name].losses[-1]:.2f}")

# %%
# People's judgements, with coverage
# ----------------------------------
# fastText has a vector for every test word (its n-grams), skip-gram only for
# words it saw ``min_count`` times; the second number is the fraction of pairs scored.
for test in ("wordsim353", "simlex999"):
    pairs = load_word_similarity(test)
    for name, model in models.items():
        r = evaluate_similarity(model.wv, pairs)
        print(f"{test:<11} {name:<10} rho = {r['spearman']:+.3f}  coverage {r['coverage']:.2f} "
              f"(in vocabulary {r['in_vocabulary']:.2f})")

# %%
# Nearest neighbours
# ------------------
kv = models["skip-gram"].wv
for word in ["king", "love", "death", "good", "lord"]:
    if word in kv:
        print(f"{word:>6}: " + ", ".join(w for w, _ in kv.most_similar(word, topn=6)))
ft = models["fastText"].wv
for word in ["kingly", "lovingly", "deathless"]:  # fastText also answers for words it never saw
    print(f"{word:>9} (fastText{', unseen' if word not in ft else ''}): "
          + ", ".join(w for w, _ in ft.most_similar(word, topn=6)))

# %%
# A t-SNE map of the frequent words
# ---------------------------------
n_words = min(len(kv), by_budget(smoke=200, ci=600, default=1500))
groups = {
    "people": ["king", "queen", "duke", "lord", "lady", "prince", "father", "mother", "son", "brother"],
    "body": ["hand", "eye", "eyes", "head", "heart", "blood", "face", "tongue", "hands"],
    "time": ["day", "night", "hour", "time", "morning", "year", "years", "today"],
    "numbers": ["one", "two", "three", "four", "five", "ten", "hundred", "thousand"],
}
vectors = kv.unit_vectors[:n_words].double()
xy = TSNE(perplexity=min(30.0, (n_words - 1) / 3), random_state=0,
          n_iter=by_budget(smoke=250, ci=500, default=1000)).fit_transform(vectors)
fig, ax = plt.subplots(figsize=(7, 6))
ax.scatter(xy[:, 0], xy[:, 1], s=3, color=FOREGROUND, alpha=0.35, label="other words")
for (group, words), colour in zip(groups.items(), PALETTE):
    idx = [kv.key_to_index[w] for w in words if w in kv.key_to_index and kv.key_to_index[w] < n_words]
    if not idx:
        continue
    ax.scatter(xy[idx, 0], xy[idx, 1], s=18, color=colour, label=group)
    for i in idx:
        ax.annotate(kv.index_to_key[i], (float(xy[i, 0]), float(xy[i, 1])), fontsize=7, color=colour)
ax.set_title(f"skip-gram vectors of the {n_words} most frequent words (t-SNE)")
ax.set_xticks([])
ax.set_yticks([])
ax.legend(loc="best", fontsize=8)
plt.show()
