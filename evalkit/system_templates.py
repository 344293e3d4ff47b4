"""System templates: how a prompt turn becomes a model request.

A "system" in evalkit is a model plus a template plus sampling parameters, so "base
model, zero-shot" and "base model + in-context alignment" are two templates over one
model. A template has a name and version, a format ("chat": a list of messages for chat
models and APIs; "text": one rendered string for base models), optional system text,
few-shot examples (user/assistant pairs) and stop sequences.

Text-format templates render, in order: the system block, each example as a user turn and
an assistant turn, the dialogue so far, the current user turn and the generation cue. The
turn formats are Jinja strings that may use ``message``, ``system``, ``turn`` (1-based),
``prompt_id``, ``category``, ``split`` and ``metadata``; the system text may use the same
variables except ``message`` and ``system``.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import jinja2
import jinja2.meta
import jinja2.sandbox
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evalkit.catalog import TEMPLATES, entries, find, search_dirs
from evalkit.errors import ConfigError
from evalkit.generators.base import CompletionRequest, SamplingParams
from evalkit.records import Message, Prompt

TEMPLATES_DIR_ENV = TEMPLATES.env
VARIABLES = frozenset({"message", "system", "turn", "prompt_id", "category", "split", "metadata"})
Context = dict[str, Any]
# Sandboxed: template files are configuration and should not be able to reach Python
# internals; autoescape is off because the output is model input, not HTML.
_ENV = jinja2.sandbox.ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
)


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


class Example(BaseModel):
    """One demonstration exchange shown before the real prompt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str = Field(min_length=1)
    assistant: str = Field(min_length=1)


class TextTurns(BaseModel):
    """Jinja formats for text-format templates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system: str = "{{ system }}\n\n"
    user: str = "User: {{ message }}\n"
    assistant: str = "Assistant: {{ message }}\n\n"
    generation: str = "Assistant:"


class SystemTemplate(BaseModel):
    """A named, versioned recipe for turning prompt turns into requests.

    Attributes:
        name: Short name, e.g. "icl-alignment".
        version: Bumped whenever the text changes.
        format: "chat" (messages) or "text" (one raw prompt string).
        description: What the template is for, shown in reports.
        system: System text (a system message for chat, a preamble for text).
        examples: Few-shot exchanges placed before the dialogue.
        text: Turn formats, used by text-format templates.
        stop: Stop sequences, merged into the request's sampling parameters.
        source: The file it was loaded from (not part of its fingerprint).

    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    format: Literal["chat", "text"]
    description: str = ""
    system: str = ""
    examples: tuple[Example, ...] = ()
    text: TextTurns = TextTurns()
    stop: tuple[str, ...] = ()
    source: str = Field(default="", exclude=True)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    def fingerprint(self) -> str:
        """sha256 of everything that changes what the template renders."""
        return hashlib.sha256(self.model_dump_json().encode("utf-8")).hexdigest()

    def render(
        self,
        prompt: Prompt,
        turn: int = 0,
        previous_outputs: Sequence[str] = (),
        params: SamplingParams | None = None,
    ) -> CompletionRequest:
        """Build the request for one turn of a prompt.

        Args:
            prompt: The prompt being answered.
            turn: 0-based index of the user turn to answer.
            previous_outputs: The system's answers to turns 0..turn-1, in order.
            params: Sampling parameters; the template's stop sequences are added to them.

        Raises:
            ValueError: ``turn`` is out of range or ``previous_outputs`` has the wrong length.
            ConfigError: The template uses a variable the prompt does not provide.

        """
        _check_turn(prompt, turn, previous_outputs)
        base = params or SamplingParams()
        merged = base.model_copy(update={"stop": tuple(dict.fromkeys((*base.stop, *self.stop)))})
        context = _context(prompt)
        system = self._fill("system", self.system, context) if self.system else ""
        history = [*zip(prompt.turns[:turn], previous_outputs, strict=True)]
        current = prompt.turns[turn]
        if self.format == "chat":
            return CompletionRequest(messages=self._messages(system, history, current), params=merged)
        return CompletionRequest(prompt=self._text(system, history, current, context), params=merged)

    def _exchanges(self, history: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [*((e.user, e.assistant) for e in self.examples), *history]

    def _messages(self, system: str, history: list[tuple[str, str]], current: str) -> tuple[Message, ...]:
        messages = [Message(role="system", content=system)] if system else []
        for user, assistant in self._exchanges(history):
            messages.append(Message(role="user", content=user))
            messages.append(Message(role="assistant", content=assistant.strip()))
        return (*messages, Message(role="user", content=current))

    def _text(self, system: str, history: list[tuple[str, str]], current: str, context: Context) -> str:
        context = {**context, "system": system}
        parts = [self._fill("text.system", self.text.system, context)] if system else []
        exchanges = self._exchanges(history)
        for number, (user, assistant) in enumerate(exchanges, start=1):
            parts.append(
                self._fill("text.user", self.text.user, {**context, "turn": number, "message": user})
            )
            reply = {**context, "turn": number, "message": assistant.strip()}
            parts.append(self._fill("text.assistant", self.text.assistant, reply))
        final = {**context, "turn": len(exchanges) + 1, "message": current}
        parts.append(self._fill("text.user", self.text.user, final))
        parts.append(self._fill("text.generation", self.text.generation, final))
        return "".join(parts)

    def _fill(self, field: str, source: str, context: Context) -> str:
        try:
            return _compiled(source).render(context)
        except jinja2.UndefinedError as exc:
            raise ConfigError(
                f"template {self.name!r} ({self.source or 'in memory'}): field '{field}' uses an undefined "
                f"variable for prompt {context.get('prompt_id')!r}: {exc.message}. "
                "Add it to the prompt's metadata or remove it from the template"
            ) from exc


def _check_turn(prompt: Prompt, turn: int, previous_outputs: Sequence[str]) -> None:
    if not 0 <= turn < len(prompt.turns):
        raise ValueError(f"prompt {prompt.id!r} has {len(prompt.turns)} turn(s); turn {turn} does not exist")
    if len(previous_outputs) != turn:
        raise ValueError(
            f"turn {turn} of prompt {prompt.id!r} needs {turn} previous output(s), "
            f"got {len(previous_outputs)}"
        )


def _context(prompt: Prompt) -> Context:
    return {
        "prompt_id": prompt.id,
        "category": prompt.category,
        "split": prompt.split,
        "metadata": prompt.metadata,
    }


def templates_dirs() -> tuple[Path, ...]:
    """Folders searched for templates by name (see ``evalkit.catalog``)."""
    return search_dirs(TEMPLATES)


def builtin_templates() -> dict[str, Path]:
    """Template name (file stem) -> file, earlier search folders winning."""
    return entries(TEMPLATES)


def load_template(name_or_path: str | Path) -> SystemTemplate:
    """Load a template from a YAML file or by built-in name ("plain", "icl-alignment", ...).

    Raises:
        ConfigError: Unknown name, unreadable YAML, a bad field, or a turn format using a
            variable templates do not provide; the message names the file and field.

    """
    path = _resolve(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"template {path}: cannot read it as YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"template {path}: expected a mapping with name, version, format, ...")
    try:
        template = SystemTemplate.model_validate({**data, "source": str(path)})
    except ValidationError as exc:
        raise ConfigError(f"template {path}: {_first_problem(exc)}") from exc
    _check_variables(template, path)
    return template


def _resolve(name_or_path: str | Path) -> Path:
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    if (
        isinstance(name_or_path, str)
        and os.sep not in name_or_path
        and not name_or_path.endswith((".yaml", ".yml"))
    ):
        return find(TEMPLATES, name_or_path)
    raise ConfigError(f"template file {path} does not exist; check the path or name a built-in template")


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    return f"field '{where}': {error['msg']} (fix the field; see prompts/README.md for the template format)"


def _check_variables(template: SystemTemplate, path: Path) -> None:
    fields = {"system": template.system, **{f"text.{k}": v for k, v in template.text.model_dump().items()}}
    for field, source in fields.items():
        try:
            used = jinja2.meta.find_undeclared_variables(_ENV.parse(source))
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"template {path}: field '{field}' line {exc.lineno}: {exc.message}") from exc
        allowed = VARIABLES - {"message", "system"} if field == "system" else VARIABLES
        unknown = sorted(used - allowed)
        if unknown:
            raise ConfigError(
                f"template {path}: field '{field}' uses unknown variable(s) {', '.join(unknown)}; "
                f"available there: {', '.join(sorted(allowed))}"
            )
