"""Verified, atomic downloads into the data root.

A file is used only when its content hash matches the registry. A missing
or corrupt file is downloaded with a progress bar into a temporary file in
the same folder, verified, and then moved into place with
:func:`os.replace`, so a partial or corrupt download is never used.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from dlbook.data.registry import DataFile, get_dataset
from dlbook.runs import tqdm  # tqdm.auto, imported once without its notebook warning

__all__ = ["DataNotAvailableError", "data_root", "content_sha256", "verify", "fetch"]

ENV_VAR = "DLBOOK_DATA"


class DataNotAvailableError(FileNotFoundError):
    """A data file is neither in the data root nor downloadable right now."""


def data_root() -> Path:
    """Return the data root: ``DLBOOK_DATA``, else a per-user cache directory.

    The cache directory is ``$XDG_CACHE_HOME/dlbook`` (``~/.cache/dlbook``)
    on Linux, ``~/Library/Caches/dlbook`` on macOS and
    ``%LOCALAPPDATA%\\dlbook`` on Windows.

    Examples
    --------
    >>> import os
    >>> os.environ["DLBOOK_DATA"] = "/tmp/dlbook-data"
    >>> str(data_root())
    '/tmp/dlbook-data'
    >>> del os.environ["DLBOOK_DATA"]
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "dlbook"


def read_content(path: Path, name: str | None = None) -> bytes:
    """Return the bytes of ``path``, decompressed when ``name`` (default: the path) ends in ``.gz``."""
    raw = Path(path).read_bytes()
    if (name or str(path)).endswith(".gz"):
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            # a truncated or corrupt archive (damage inside the deflate stream raises
            # zlib.error, not OSError); its hash will not match
            return b""
    return raw


def content_sha256(path: Path, name: str | None = None) -> str:
    """SHA-256 of a file's content (decompressed for ``.gz`` names)."""
    return hashlib.sha256(read_content(path, name)).hexdigest()


def verify(path: Path, expected_sha256: str, name: str | None = None) -> bool:
    """Return whether ``path`` exists and its content hash is ``expected_sha256``.

    ``name`` is the registered file name, which decides whether the content
    is gzip-compressed; by default the path's own name.
    """
    path = Path(path)
    return path.is_file() and content_sha256(path, name) == expected_sha256


def _download(url: str, dest: Path, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (https/http URLs only)
        total = int(response.headers.get("Content-Length") or 0) or None
        with open(dest, "wb") as out, tqdm(
            total=total, unit="B", unit_scale=True, desc=dest.name.split(".part")[0], leave=False
        ) as bar:
            while chunk := response.read(1 << 16):
                out.write(chunk)
                bar.update(len(chunk))


def _extract_member(path: Path, member: str) -> None:
    """Replace the tar archive at ``path`` by the bytes of its ``member``."""
    import tarfile

    try:
        with tarfile.open(path) as archive:
            data = archive.extractfile(member)
            if data is None:
                raise ValueError(f"archive member {member!r} is not a regular file")
            content = data.read()
    except KeyError:
        raise ValueError(f"archive has no member {member!r}") from None
    except tarfile.TarError as exc:
        raise ValueError(f"not a readable tar archive: {exc}") from None
    path.write_bytes(content)


def fetch(dataset: str, filename: str, *, root: Path | str | None = None, download: bool = True,
          timeout: float = 60.0) -> Path:
    """Return the verified local path of one registered file, downloading it if needed.

    Parameters
    ----------
    dataset : str
        A registered data set, such as ``"mnist"``.
    filename : str
        One of its files.
    root : path, optional
        Data root; :func:`data_root` when omitted.
    download : bool
        Try the canonical URLs when the file is missing or corrupt.
    timeout : float
        Seconds before a connection attempt is abandoned.

    Returns
    -------
    pathlib.Path
        ``root / dataset / filename``, whose content hash matches the registry.

    Raises
    ------
    DataNotAvailableError
        If the file is missing or corrupt and could not be downloaded. The
        message names the file, where it is expected and where to get it.
    """
    spec: DataFile = get_dataset(dataset).file(filename)
    folder = Path(root).expanduser().resolve() if root is not None else data_root()
    target = folder / dataset / filename
    if verify(target, spec.sha256):
        return target
    problem = "is corrupt (its checksum does not match)" if target.exists() else "is missing"
    errors = []
    if download:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            errors.append(f"cannot create {target.parent}: {exc}")
        else:
            for url in spec.urls:
                fd, tmp_name = tempfile.mkstemp(prefix=filename + ".", suffix=".part", dir=target.parent)
                os.close(fd)
                tmp = Path(tmp_name)
                try:
                    _download(url, tmp, timeout)
                    if spec.member is not None:
                        _extract_member(tmp, spec.member)
                    if not verify(tmp, spec.sha256, name=filename):
                        errors.append(f"{url}: checksum mismatch")
                        continue
                    os.replace(tmp, target)
                    return target
                except (urllib.error.URLError, OSError, ValueError, EOFError) as exc:
                    errors.append(f"{url}: {exc}")
                finally:
                    tmp.unlink(missing_ok=True)
    else:
        errors.append("download=False")
    raise DataNotAvailableError(
        f"{dataset} file {filename!r} {problem} and could not be downloaded.\n"
        f"  expected at: {target}\n"
        f"  download it from: {spec.urls[0]}" + (f" (member {spec.member} of the archive)" if spec.member else "")
        + "\n"
        f"  and place it there, or set DLBOOK_DATA to a folder that holds {dataset}/{filename}.\n"
        f"  attempts: " + "; ".join(errors)
    )
