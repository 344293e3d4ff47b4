"""Render a judge's prompt templates with Jinja2 (StrictUndefined) and hash their sources.

Judge prompts are plain text sent to a model, not HTML, so autoescaping is off; a
template that uses an unknown variable fails loudly with the judge file and variable.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2

from evalkit.errors import ConfigError
from evalkit.judging.context import example_context
from evalkit.judging.spec import JudgeSpec

BlockRenderer = Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class RenderedPrompt:
    """The system and user messages of one judge call."""

    system: str
    user: str


def template_hash(spec: JudgeSpec) -> str:
    """sha256 over the template sources and the judge version: changes when the prompt does."""
    parts = {
        "version": spec.version,
        "system": spec.template.system,
        "user": spec.template.user,
        "file": spec.template.file_text,
        "reask": spec.verdict.reask,
        "structured": spec.verdict.structured_instruction,
    }
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class JudgeTemplates:
    """Compiled templates of one judge."""

    def __init__(self, spec: JudgeSpec) -> None:
        self.spec = spec
        self._where = str(spec.path or f"judge {spec.name!r}")
        self._env = jinja2.Environment(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._system, self._user = self._compile_prompt()
        self._reask = self._block(self._compile("verdict.reask", spec.verdict.reask), None)

    def render(self, context: Mapping[str, Any]) -> RenderedPrompt:
        """Render the system and user messages.

        Raises:
            ConfigError: A template uses a variable the context lacks (names file and variable).

        """
        return RenderedPrompt(system=self._system(context), user=self._user(context))

    def render_reask(self, context: Mapping[str, Any]) -> str:
        """Render the single follow-up message asking for the verdict alone."""
        return self._reask(context)

    def check(self) -> None:
        """Render every template once with example values, so mistakes surface at load time."""
        context = example_context(self.spec)
        self.render(context)
        self.render_reask(context)

    def _compile_prompt(self) -> tuple[BlockRenderer, BlockRenderer]:
        template = self.spec.template
        if template.file_text:
            compiled = self._compile(f"template file {template.file or ''}".strip(), template.file_text)
            if "user" not in compiled.blocks:
                raise ConfigError(
                    f"{self._where}: the template file has no '{{% block user %}}'; "
                    "define blocks 'system' (optional) and 'user'"
                )
            system = self._block(compiled, "system") if "system" in compiled.blocks else _empty
            return system, self._block(compiled, "user")
        inline_system = self._compile("template.system", template.system)
        inline_user = self._compile("template.user", template.user)
        return self._block(inline_system, None), self._block(inline_user, None)

    def _compile(self, field: str, source: str) -> jinja2.Template:
        try:
            return self._env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                f"{self._where}: {field}: template syntax error on line {exc.lineno}: {exc.message}"
            ) from exc

    def _block(self, template: jinja2.Template, block: str | None) -> BlockRenderer:
        def render(context: Mapping[str, Any]) -> str:
            try:
                if block is None:
                    return template.render(context).strip()
                pieces: Iterator[str] = template.blocks[block](template.new_context(dict(context)))
                return "".join(pieces).strip()
            except jinja2.UndefinedError as exc:
                raise ConfigError(
                    f"{self._where}: template{_block_label(block)} uses an undefined variable "
                    f"({exc.message}); available variables: {', '.join(sorted(context))}"
                ) from exc
            except Exception as exc:  # template code is user data: it may raise anything while it runs
                raise ConfigError(
                    f"{self._where}: template{_block_label(block)} failed while rendering "
                    f"({type(exc).__name__}: {exc}); judge templates cannot include or import other "
                    "files, so put the text inline, and check the expressions there"
                ) from exc

        return render


def _block_label(block: str | None) -> str:
    return "" if block is None else f" block {block!r}"


def _empty(context: Mapping[str, Any]) -> str:
    return ""
