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
