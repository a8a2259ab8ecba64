"""Fetch the TrustLLM data: the Hugging Face dataset, or the zip in the GitHub repository.

Both are written for real; tests drive `install_zip` with a zip they build themselves.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from pathlib import Path

import httpx

from ..errors import TrustbenchError
from .loader import SECTIONS, _find_root

HF_DATASET = "TrustLLM/TrustLLM-dataset"
GITHUB_ZIP = "https://raw.githubusercontent.com/HowieHwong/TrustLLM/main/dataset/dataset.zip"


def fetch_bytes(url: str) -> bytes:
    """The body at an http(s) URL, or one clear error naming it."""
    try:
        resp = httpx.get(url, follow_redirects=True, timeout=120)
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        raise TrustbenchError(f"Could not download {url}: {exc}") from None
    return resp.content


def install_zip(source: str | Path, dest: Path) -> Path:
    """Extract a TrustLLM dataset zip (a local path, file:// or http(s) URL) into dest."""
    source = str(source)
    if source.startswith(("http://", "https://")):
        blob = fetch_bytes(source)
    else:
        path = Path(source.removeprefix("file://"))
        if not path.is_file():
            raise TrustbenchError(f"Zip file not found: {path}")
        blob = path.read_bytes()
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
    except zipfile.BadZipFile:
        raise TrustbenchError(f"{source} is not a zip archive") from None
    with tempfile.TemporaryDirectory() as tmp:
        for member in archive.namelist():
            target = (Path(tmp) / member).resolve()
            if not str(target).startswith(str(Path(tmp).resolve())):
                raise TrustbenchError(f"{source}: unsafe path in archive: {member}")
        archive.extractall(tmp)
        return _install_tree(Path(tmp), dest, source)


def install_hub(dest: Path, repo_id: str = HF_DATASET, revision: str | None = None) -> Path:
    """Download the dataset snapshot from the Hugging Face hub into dest."""
    from huggingface_hub import snapshot_download

    with tempfile.TemporaryDirectory() as tmp:
        try:
            snapshot_download(repo_id=repo_id, repo_type="dataset", revision=revision, local_dir=tmp)
        except Exception as exc:  # hub errors come in many types; one message is enough
            raise TrustbenchError(f"Could not download {repo_id} from the Hugging Face hub: {exc}") from None
        return _install_tree(Path(tmp), dest, repo_id)


def _install_tree(tree: Path, dest: Path, origin: str) -> Path:
    root = _find_root(tree) or next((p for p in tree.rglob("*") if p.is_dir() and _find_root(p) == p), None)
    if root is None:
        raise TrustbenchError(f"{origin}: no TrustLLM section folders ({', '.join(SECTIONS)}) inside")
    dest.mkdir(parents=True, exist_ok=True)
    for section in SECTIONS:
        if (root / section).is_dir():
            if (dest / section).exists():
                shutil.rmtree(dest / section)
            shutil.copytree(root / section, dest / section)
    return dest


def download(dest: Path, source: str = "auto") -> Path:
    """source: 'hub', 'github', a zip path/URL, or 'auto' (hub first, then the GitHub zip)."""
    if source == "hub":
        return install_hub(dest)
    if source == "github":
        return install_zip(GITHUB_ZIP, dest)
    if source != "auto":
        return install_zip(source, dest)
    try:
        return install_hub(dest)
    except TrustbenchError as hub_error:
        try:
            return install_zip(GITHUB_ZIP, dest)
        except TrustbenchError as zip_error:
            raise TrustbenchError(f"{hub_error}; and {zip_error}") from None
