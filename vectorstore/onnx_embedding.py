"""The sentence-transformers model run by ONNX Runtime: about 3x the passages per second of torch here.

The ONNX file is exported once from the local model files (torch is needed only then), with its
attention, layer norms and GELU fused and, by default, its weights quantised to int8 (dynamic,
per channel). The whole module chain (transformer, pooling, any dense layer, normalisation) is in
the graph, so only tokenisation runs outside it. The export is written beside the model in an
``onnx`` folder (or ``embedding.onnx_folder``), named by a key of the model files, the settings and
the library versions, and moved into place atomically, so concurrent first uses cannot see half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from assistant.errors import UserError
from assistant.settings import EmbeddingSettings

EXPORT_VERSION = "1"  # bump when the export recipe changes: old files are then not reused
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
    """The ONNX file and its description (inputs, padding, length, dimension), exported if missing."""
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
    with torch.no_grad():
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
            op_types_to_quantize=["MatMul", "Attention"],
            extra_options={"DefaultTensorType": 1},  # float, for the fused operators' outputs
        )
    else:
        fused.save_model_to_file(str(target))
    traced.unlink(missing_ok=True)
    tokenizer = model.tokenizer
    return {
        "inputs": names,
        "max_seq_length": int(model.max_seq_length),
        "pad_token": tokenizer.pad_token,
        "pad_id": int(tokenizer.pad_token_id),
        "dim": int(model.get_embedding_dimension()),
    }


class OnnxEncoder:
    """Sorts texts by length (less padding) and runs them in batches; returns unit vectors."""

    def __init__(self, folder: Path, settings: EmbeddingSettings):
        import onnxruntime
        from tokenizers import Tokenizer

        if not (folder / "tokenizer.json").exists():
            raise UserError(f"{folder} has no tokenizer.json, which the onnx backend needs; use backend 'torch'")
        model, meta = exported_files(folder, settings)
        description = json.loads(meta.read_text(encoding="utf-8"))
        self.inputs: list[str] = description["inputs"]
        self.dim: int = description["dim"]
        self.batch_size = settings.batch_size
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(description["max_seq_length"])
        self._tokenizer.enable_padding(pad_id=description["pad_id"], pad_token=description["pad_token"])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = settings.threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str]) -> np.ndarray:
        order = np.argsort([len(t) for t in texts], kind="stable")
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            chosen = order[start : start + self.batch_size]
            encodings = self._tokenizer.encode_batch([texts[i] for i in chosen])
            fields = {
                "input_ids": [e.ids for e in encodings],
                "attention_mask": [e.attention_mask for e in encodings],
                "token_type_ids": [e.type_ids for e in encodings],
            }
            feed = {name: np.asarray(fields[name], dtype=np.int64) for name in self.inputs}
            vectors[chosen] = self._session.run(None, feed)[0]
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
