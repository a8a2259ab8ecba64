"""Model-backed judges on real local models: a transformers classifier the test builds, MiniLM embeddings,
sentence-transformers from a path, profanity-check, Detoxify from a local checkpoint, an embeddings server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from trustbench.judges import JudgeInput, JudgeSet, make_judge
from trustbench.judges.hf_classifier import HFClassifierRefusalJudge
from trustbench.store import Store

WORDS = "i am sorry cannot help with that sure here is how to do it step one two the a you idiot hello friend".split()


def _tokenizer(kind: str):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] if kind == "roberta" else ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {t: i for i, t in enumerate(specials + WORDS)}
    unk = "<unk>" if kind == "roberta" else "[UNK]"
    tok = Tokenizer(models.WordLevel(vocab, unk_token=unk))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if kind == "roberta":
        tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
        return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token=unk,
                                       pad_token="<pad>", mask_token="<mask>", cls_token="<s>", sep_token="</s>"), vocab
    from transformers import BertTokenizerFast

    return BertTokenizerFast(tokenizer_object=tok, unk_token=unk, pad_token="[PAD]", cls_token="[CLS]",
                             sep_token="[SEP]", mask_token="[MASK]"), vocab


@pytest.fixture(scope="module")
def longformer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised Longformer classifier (the original judge's architecture), window 32 tokens."""
    from transformers import LongformerConfig, LongformerForSequenceClassification

    path = tmp_path_factory.mktemp("longformer")
    tok, vocab = _tokenizer("roberta")
    torch.manual_seed(0)
    cfg = LongformerConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=34, attention_window=[8], num_labels=2,
                           pad_token_id=1, bos_token_id=0, eos_token_id=2)
    model = LongformerForSequenceClassification(cfg)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def _biased_copy(src: Path, dst: Path, winner: int) -> Path:
    """The same classifier with its output bias set so class `winner` always wins."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(src)
    with torch.no_grad():
        model.classifier.out_proj.weight.zero_()
        model.classifier.out_proj.bias.copy_(torch.tensor([5.0, 0.0] if winner == 0 else [0.0, 5.0]))
    model.save_pretrained(dst)
    AutoTokenizer.from_pretrained(src).save_pretrained(dst)
    return dst


def test_label_0_means_refusal(longformer_dir: Path, tmp_path: Path) -> None:
    items = [JudgeInput("sure here is how"), JudgeInput("i am sorry")]
    zero = make_judge("refusal", f"hf:{_biased_copy(longformer_dir, tmp_path / 'zero', 0)}", None)
    one = make_judge("refusal", f"hf:{_biased_copy(longformer_dir, tmp_path / 'one', 1)}@cpu", None)
    assert [j.label for j in zero.judge(items)] == ["refusal", "refusal"]
    assert [j.raw for j in zero.judge(items)] == ["LABEL_0", "LABEL_0"]
    got = one.judge(items)
    assert [j.label for j in got] == ["answer", "answer"] and got[0].score < 0.01  # score = P(refusal)
    assert one.device == "cpu" and zero.id != one.id


def test_batches_match_single_items_and_long_inputs_are_truncated(longformer_dir: Path) -> None:
    texts = ["i am sorry i cannot help", "sure", "step one " * 200, "here is how to do it step two"]
    batched = HFClassifierRefusalJudge(str(longformer_dir), batch_size=3)
    single = HFClassifierRefusalJudge(str(longformer_dir), batch_size=1)
    pb = batched.probabilities(texts)  # 800 tokens into a 32-token window: must not fail
    ps = single.probabilities(texts)
    assert np.allclose(pb, ps, atol=1e-5)
    assert len({round(p[0], 6) for p in pb}) > 1  # random weights: the inputs do change the output
    assert batched._loaded[3] == 32  # window 34 minus RoBERTa's two offset positions


def test_classifier_against_rules_in_the_judge_command(longformer_dir: Path, tmp_path: Path) -> None:
    from trustbench.cli import app

    src = tmp_path / "items.jsonl"
    src.write_text("".join(json.dumps({"id": f"r{i}", "prompt": "p", "response": r}) + "\n" for i, r in
                           enumerate(["I'm sorry, I cannot help with that.", "Sure, here is how.", "I can't do it."])))
    model = _biased_copy(longformer_dir, tmp_path / "always-refuses", 0)
    agree = tmp_path / "agree.json"
    res = CliRunner().invoke(app, ["judge", "refusal", "-i", str(src), "-o", str(tmp_path / "v.jsonl"),
                                   "-j", "rules", "-j", f"hf:{model}", "--agreement", str(agree)])
    assert res.exit_code == 0, res.output
    pair = json.loads(agree.read_text())["pairs"][0]
    assert pair["n"] == 3 and pair["disagreements"] == [{"id": "r1", "first": "answer", "second": "refusal"}]
    assert pair["kappa"] == pytest.approx(0.0)
    assert "Cohen's kappa 0.000" in res.output and "r1: answer vs refusal" in res.output


# -- embeddings --------------------------------------------------------------------------------------

SENTENCES = ["A cat sits on the mat.", "A kitten is sitting on a rug.", "Quarterly tax filings are due in April."]


def _cos(v: list[list[float]]) -> np.ndarray:
    a = np.asarray(v)
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    return a @ a.T


def test_minilm_gives_sensible_cached_vectors(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    judges = JudgeSet(store)
    vectors = judges.embed(SENTENCES)
    sims = _cos(vectors)
    assert len(vectors[0]) == 384
    assert sims[0, 1] > 0.5 > sims[0, 2] + 0.3  # paraphrases close, unrelated far
    assert store.count("verdicts") == 3
    assert JudgeSet(store).embed(SENTENCES[:2]) == vectors[:2]  # from the store, bit for bit


def test_sentence_transformer_from_a_path_matches_minilm(tmp_path: Path) -> None:
    from trustbench.judges.embedding import minilm_path

    st = make_judge("embedding", f"st:{minilm_path()}", None)
    assert st.id.startswith("embedding:st:")
    ref = make_judge("embedding", "minilm", None).embed(SENTENCES)
    assert np.allclose(st.embed(SENTENCES), ref, atol=1e-5)


class EmbeddingsEndpoint(BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/embeddings endpoint: bag-of-letters vectors, so similar texts are similar."""

    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        EmbeddingsEndpoint.requests.append({"auth": self.headers.get("Authorization"), **body})
        data = [{"object": "embedding", "index": i,
                 "embedding": [t.lower().count(c) + 0.01 for c in "abcdefghijklmnopqrstuvwxyz"]}
                for i, t in enumerate(body["input"])]
        out = json.dumps({"object": "list", "data": data[::-1], "model": body["model"],
                          "usage": {"prompt_tokens": 1, "total_tokens": 1}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def embeddings_server() -> Iterator[str]:
    EmbeddingsEndpoint.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), EmbeddingsEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_embeddings_batched_in_order_with_key_from_env(
        embeddings_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    judge = make_judge("embedding", f"openai:text-embedding-3-small@{embeddings_server}", Store(tmp_path / "s.sqlite"))
    judge.batch_size = 2  # type: ignore[attr-defined]
    texts = ["aaa", "bbb", "abab", ""]
    got = judge.embed(texts)
    assert [r["input"] for r in EmbeddingsEndpoint.requests] == [["aaa", "bbb"], ["abab", " "]]
    assert all(r["auth"] == "Bearer sk-test" and r["model"] == "text-embedding-3-small" for r in EmbeddingsEndpoint.requests)
    assert got[0][0] == pytest.approx(3.01) and got[1][1] == pytest.approx(3.01)  # reversed reply put back in order
    judge.embed(texts)
    assert len(EmbeddingsEndpoint.requests) == 2  # cached


# -- toxicity --------------------------------------------------------------------------------------------

def test_profanity_check_scores_real_text() -> None:
    got = JudgeSet().toxicity(["You are a stupid idiot, shut the hell up.", "Thank you, have a lovely day!", ""])
    assert got[0].label == "toxic" and got[0].score > 0.8
    assert got[1].label == "non-toxic" and got[1].score < 0.2
    assert all(0.0 <= j.score <= 1.0 for j in got)


def test_detoxify_from_a_local_checkpoint(tmp_path: Path) -> None:
    """A Detoxify-format checkpoint of a tiny random BERT, with its config and tokenizer beside it."""
    from transformers import BertConfig, BertForSequenceClassification

    tok, vocab = _tokenizer("bert")
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1,
                                                     num_attention_heads=2, intermediate_size=32,
                                                     max_position_embeddings=32, num_labels=6))
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    classes = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
    arch = {"model_type": str(tmp_path), "model_name": "BertForSequenceClassification",
            "tokenizer_name": "BertTokenizerFast", "num_classes": 6}
    torch.save({"config": {"arch": {"args": arch}, "dataset": {"args": {"classes": classes}}},
                "state_dict": model.state_dict()}, tmp_path / "tiny.ckpt")
    judge = make_judge("toxicity", f"detoxify:{tmp_path / 'tiny.ckpt'}", None)
    got = judge.judge([JudgeInput("you idiot"), JudgeInput("hello friend")])
    with torch.no_grad():
        enc = tok(["you idiot"], return_tensors="pt")
        expected = torch.sigmoid(model.eval()(**enc).logits)[0, 0].item()
    assert got[0].score == pytest.approx(expected, abs=1e-5)  # Detoxify's 'toxicity' = sigmoid of class 0
    assert judge.id == "toxicity:detoxify:tiny.ckpt@1"
