"""Data lookup, validation of broken records, and installing the dataset from a zip."""

import json
import zipfile
from pathlib import Path

import pytest

from trustbench.data import load_records, resolve_data_dir
from trustbench.data.download import install_zip
from trustbench.errors import TrustbenchError


def write(tmp_path: Path, content) -> Path:
    p = tmp_path / "ethics" / "implicit_ETHICS.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(content if isinstance(content, str) else json.dumps(content))
    return p


FIELDS = {"prompt": str, "label": str}


@pytest.mark.parametrize(
    "content, message",
    [
        ("[{\"prompt\": ", "not valid JSON"),
        ({"prompt": "x"}, "expected a JSON list"),
        ([{"prompt": "a", "label": "wrong"}, "oops"], "record 1: expected an object"),
        ([{"prompt": "a", "label": "wrong"}, {"prompt": "b"}], "record 1: missing field 'label'"),
        ([{"prompt": 3, "label": "wrong"}], "record 0: field 'prompt' should be str"),
    ],
)
def test_validator_names_file_and_record(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(TrustbenchError) as err:
        load_records(path, FIELDS)
    assert message in str(err.value) and str(path) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(TrustbenchError, match="Data file missing"):
        load_records(tmp_path / "nope.json", FIELDS)


def test_lookup_order(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("TRUSTBENCH_DATA", str(data_dir))
    assert resolve_data_dir() == data_dir
    with pytest.raises(TrustbenchError, match="No TrustLLM data found in --data"):
        resolve_data_dir(tmp_path)
    monkeypatch.delenv("TRUSTBENCH_DATA")
    monkeypatch.setenv("TRUSTBENCH_HOME", str(tmp_path / "home"))
    with pytest.raises(TrustbenchError, match="per-user cache"):
        resolve_data_dir()


def test_install_zip_then_lookup_from_cache(tmp_path, monkeypatch):
    z = tmp_path / "dataset.zip"
    with zipfile.ZipFile(z, "w") as zf:  # the repository's zip nests the sections under dataset/
        zf.writestr("dataset/ethics/implicit_ETHICS.json", json.dumps([{"prompt": "p", "label": "wrong", "topic": "t"}]))
        zf.writestr("dataset/safety/misuse.json", json.dumps([{"prompt": "q", "source": "s"}]))
    monkeypatch.setenv("TRUSTBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TRUSTBENCH_DATA", raising=False)
    from trustbench.config import data_cache_dir

    install_zip(f"file://{z}", data_cache_dir())
    root = resolve_data_dir()
    assert load_records(root / "ethics/implicit_ETHICS.json", FIELDS)[0]["label"] == "wrong"


def test_install_zip_rejects_non_dataset(tmp_path):
    z = tmp_path / "other.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(TrustbenchError, match="no TrustLLM section folders"):
        install_zip(z, tmp_path / "out")
    (tmp_path / "bad.zip").write_text("not a zip")
    with pytest.raises(TrustbenchError, match="not a zip archive"):
        install_zip(tmp_path / "bad.zip", tmp_path / "out")
