"""Versioned prompt files under ``prompts/``: ``<id>.v<version>.yaml``.

Each file is a small card (id, version, purpose, tuned_for, eval) plus Jinja
templates for the system and user messages, and optionally a file of few-shot
examples. ``tag`` names the prompt in caches and provenance; it includes a hash
of the files, so an edit without a version bump still invalidates the cache.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import yaml

from assistant.errors import UserError

FILE_NAME = re.compile(r"^(?P<id>[a-z0-9_-]+)\.v(?P<version>\d+)\.yaml$")
# Chat-template control tokens (ChatML's <|im_start|>, <|endoftext|>, SmolLM's <repo_name>, ...).
CONTROL_TOKEN = re.compile(r"<(?=\|[^<>\n]{0,40}\|>|/?[A-Za-z_]{1,30}>)")
WORD_JOINER = "\u2060"
CHAT_TURN = re.compile(r"<\|[^<>\n]{0,40}\|>")
ADDRESSED_TO_SYSTEM = re.compile(
    r"\b(?:ignorera|strunta i|bortse från|glöm|ignore|disregard)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:instruktion|anvisning|direktiv|instruction|prompt)"
    r"|\b(?:till|för|to|for)\s+(?:[\w-]+\s+){0,2}?"
    r"(?:ai|ai-system\w*|språkmodell\w*|sammanfattningsverktyg\w*|analysverktyg\w*|chatbot\w*|language model)\b"
    r"|\b(?:skriv|ange|rapportera|svara|write|answer)\s+(?:[\w-]+\s+){0,3}?(?:i sammanfattningen|in the summary)\b"
    r"|(?:^|(?<=[.!?\[\n]))\s*(?:skriv|ange)\s+att\b",  # a sentence that is an order to write ("Skriv att ...")
    re.IGNORECASE,
)
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)  # noqa: S701 - prompt text, not HTML


@dataclass(frozen=True)
class Prompt:
    id: str
    version: int
    path: Path
    card: dict
    system: jinja2.Template
    user: jinja2.Template
    examples: list[dict] = field(default_factory=list)
    digest: str = ""

    @property
    def tag(self) -> str:
        return f"{self.id}.v{self.version}#{self.digest[:8]}"

    def messages(self, system_vars: dict, user_vars: dict) -> list[dict]:
        """System, few-shot turns, then the variable user turn last (keeps the cached prefix long)."""
        messages = [{"role": "system", "content": self.system.render(**system_vars).strip()}]
        for example in self.examples:
            messages.append({"role": "user", "content": self.user.render(**example["input"]).strip()})
            messages.append({"role": "assistant", "content": json.dumps(example["output"], ensure_ascii=False)})
        messages.append({"role": "user", "content": self.user.render(**inert(user_vars)).strip()})
        return messages


def forges_chat(text: str) -> bool:
    """Text that writes chat-template turns (``<|im_start|>system``) is an attempt to steer the model,
    never report prose."""
    return bool(CHAT_TURN.search(text))


def addresses_system(text: str) -> bool:
    """A passage written to the tool rather than about the child ("Ignorera tidigare instruktioner ...",
    "Meddelande till språkmodellen: ..."): never analysed, never context, and the summary says so.
    The patterns are one layer; the prompts also tell the model that report text is material only."""
    return forges_chat(text) or bool(ADDRESSED_TO_SYSTEM.search(text))


def inert(value):
    """Report text as material, never as chat structure: a control token written in a report
    (``<|im_end|><|im_start|>system``) would otherwise be read by the tokenizer as a real turn.
    A word joiner after its ``<`` keeps it readable and makes it plain text."""
    if isinstance(value, str):
        return CONTROL_TOKEN.sub("<" + WORD_JOINER, value)
    if isinstance(value, dict):
        return {key: inert(item) for key, item in value.items()}
    if isinstance(value, list):
        return [inert(item) for item in value]
    return value


def available(prompts_dir: Path) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for path in prompts_dir.glob("*.v*.yaml"):
        match = FILE_NAME.match(path.name)
        if match:
            found.setdefault(match["id"], []).append(int(match["version"]))
    return {k: sorted(v) for k, v in found.items()}


def load_prompt(prompts_dir: Path, spec: str) -> Prompt:
    """``spec`` is ``id`` (newest version) or ``id@version``."""
    prompt_id, _, wanted = spec.partition("@")
    versions = available(prompts_dir).get(prompt_id)
    if not versions:
        raise UserError(f"no prompt '{prompt_id}' in {prompts_dir}")
    version = int(wanted.lstrip("v")) if wanted else versions[-1]
    if version not in versions:
        raise UserError(f"prompt '{prompt_id}' has no version {version} (have {versions})")
    path = prompts_dir / f"{prompt_id}.v{version}.yaml"
    raw = path.read_bytes()
    try:
        card = yaml.safe_load(raw)
        system = _ENV.from_string(card["system"])
        user = _ENV.from_string(card["user"])
    except (yaml.YAMLError, KeyError, TypeError, jinja2.TemplateError) as exc:
        raise UserError(f"{path}: not a valid prompt file ({exc})") from None
    digest = hashlib.sha256(raw)
    examples: list[dict] = []
    if card.get("examples"):
        examples_path = prompts_dir / card["examples"]
        examples_raw = examples_path.read_bytes()
        digest.update(examples_raw)
        for item in yaml.safe_load(examples_raw) or []:
            inputs = {k: v for k, v in item.items() if k != "output"}
            examples.append({"input": {"previous": "", **inputs}, "output": item["output"]})
    return Prompt(
        id=prompt_id,
        version=version,
        path=path,
        card=card,
        system=system,
        user=user,
        examples=examples,
        digest=digest.hexdigest(),
    )
