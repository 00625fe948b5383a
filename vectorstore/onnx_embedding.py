"""The sentence-transformers model run by ONNX Runtime: fewer CPU seconds per passage than torch.

The ONNX file is exported once from the local model files (torch is needed only then), with its
attention, layer norms and GELU fused and, by default, the feed-forward weights (not the attention)
quantised to int8 (dynamic, per channel; quantising the attention too was faster but lost F1 on
the dev set, see README "Embeddings"). The whole module chain (transformer, pooling, any dense
layer, normalisation) is in the graph, so only tokenisation runs outside it. The export is written
beside the model in an ``onnx`` folder (or ``embedding.onnx_folder``), named by a key of the model
files, the settings and the library versions, and moved into place atomically, so concurrent first
uses cannot see half a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from assistant.errors import UserError
from assistant.settings import EmbeddingSettings

log = logging.getLogger(__name__)

EXPORT_VERSION = "2"  # bump when the export recipe changes: old files are then not reused
SAMPLE = ["Barnet berättade att pappa slog mamma i köket.", "Skolan"]


def variant(settings: EmbeddingSettings) -> str:
    return "onnx-int8" if settings.quantize else "onnx"


def export_key(folder: Path, settings: EmbeddingSettings) -> str:
    """Changes with the model files, the variant and the library versions that make or run the file."""
    import onnxruntime

    digest = hashlib.sha256(f"{EXPORT_VERSION}|{variant(settings)}|{onnxruntime.__version__}".encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_relative_to(folder / "onnx")):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def exported_files(folder: Path, settings: EmbeddingSettings) -> tuple[Path, Path]:
    """The ONNX file and its description (inputs, length, dimension), exported if missing."""
    cache = Path(settings.onnx_folder) if settings.onnx_folder else folder / "onnx"
    stem = f"{variant(settings)}-{export_key(folder, settings)}"
    model, meta = cache / f"{stem}.onnx", cache / f"{stem}.json"
    if model.exists() and meta.exists():
        return model, meta
    try:
        cache.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".export-", dir=cache))
    except OSError as exc:
        raise UserError(f"cannot write the ONNX export to {cache} ({exc}); set embedding.onnx_folder") from None
    log.info("exporting the embedding model to ONNX once: %s", model)
    try:
        description = export(folder, settings, work / "model.onnx")
        (work / "meta.json").write_text(json.dumps(description), encoding="utf-8")
        os.replace(work / "model.onnx", model)
        os.replace(work / "meta.json", meta)  # last: its presence says the pair is complete
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return model, meta


def export(folder: Path, settings: EmbeddingSettings, target: Path) -> dict:
    """Trace the sentence-transformers model to ONNX, fuse it, quantise it; returns what inference needs."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from sentence_transformers import SentenceTransformer

    # eager attention traces to the pattern ONNX Runtime fuses into its Attention operator
    model = SentenceTransformer(
        str(folder), device="cpu", local_files_only=True, model_kwargs={"attn_implementation": "eager"}
    ).eval()
    inputs = model.preprocess(SAMPLE)
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in inputs]

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            return self.model(dict(zip(names, tensors, strict=True)))["sentence_embedding"]

    traced = target.with_suffix(".traced.onnx")
    # The tracer warns about shape checks it freezes (padding, pooling mask); the inputs have dynamic
    # axes and the vectors stay close to torch's at every length (tests/test_embeddings_onnx.py).
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            SentenceEmbedding(),
            tuple(inputs[n] for n in names),
            str(traced),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names} | {"sentence_embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    config = model[0].auto_model.config
    fused = optimize_model(
        str(traced),
        model_type="bert",
        num_heads=getattr(config, "num_attention_heads", 0),
        hidden_size=getattr(config, "hidden_size", 0),
        opt_level=1,
    )
    if settings.quantize:
        fused.save_model_to_file(str(traced))
        quantize_dynamic(
            str(traced),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],  # the fused Attention (query/key/value) stays float
            nodes_to_exclude=[n.name for n in fused.model.graph.node if "/attention/" in n.name],
            extra_options={"DefaultTensorType": 1},  # float, for outputs of the fused operators
        )
    else:
        fused.save_model_to_file(str(target))
    traced.unlink(missing_ok=True)
    return {
        "inputs": names,
        "max_seq_length": int(model.max_seq_length),
        "dim": int(model.get_embedding_dimension()),
    }


class OnnxEncoder:
    """One text per run, runs spread over threads; returns unit vectors.

    Dynamic quantisation scales each run's activations by that run's largest value, so in a batch a
    passage's vector would depend on its neighbours (cosine down to 0.986 against the same text alone).
    One text per run keeps a text's vector its own, needs no padding, and costs no more CPU than
    batches of 16 or 64 did here.
    """

    def __init__(self, folder: Path, settings: EmbeddingSettings):
        import onnxruntime
        from tokenizers import Tokenizer

        if not (folder / "tokenizer.json").exists():
            raise UserError(f"{folder} has no tokenizer.json, which the onnx backend needs; use backend 'torch'")
        model, meta = exported_files(folder, settings)
        description = json.loads(meta.read_text(encoding="utf-8"))
        self.inputs: list[str] = description["inputs"]
        self.dim: int = description["dim"]
        self.workers = settings.threads or os.cpu_count() or 1
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(description["max_seq_length"])
        self._tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def _one(self, text: str) -> np.ndarray:
        encoding = self._tokenizer.encode(text)
        fields = {
            "input_ids": encoding.ids,
            "attention_mask": encoding.attention_mask,
            "token_type_ids": encoding.type_ids,
        }
        feed = {name: np.asarray([fields[name]], dtype=np.int64) for name in self.inputs}
        vector = self._session.run(None, feed)[0][0]
        return vector / np.linalg.norm(vector)

    def encode(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1 or self.workers == 1:
            return np.stack([self._one(t) for t in texts])
        with ThreadPoolExecutor(self.workers) as pool:
            return np.stack(list(pool.map(self._one, texts)))
