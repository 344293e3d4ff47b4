"""The shipped templates: the zero-shot baseline and in-context alignment, text and chat."""

from __future__ import annotations

from evalkit.prompts import load_prompt_set
from evalkit.system_templates import builtin_templates, load_template


def test_all_four_ship_and_load() -> None:
    assert {"plain", "icl-alignment", "chat-plain", "chat-icl-alignment"} <= set(builtin_templates())
    formats = {
        name: load_template(name).format
        for name in ("plain", "icl-alignment", "chat-plain", "chat-icl-alignment")
    }
    assert formats == {
        "plain": "text",
        "icl-alignment": "text",
        "chat-plain": "chat",
        "chat-icl-alignment": "chat",
    }


def test_plain_and_icl_share_the_scaffold_so_only_the_preamble_differs() -> None:
    plain, icl = load_template("plain"), load_template("icl-alignment")
    assert plain.text == icl.text and plain.stop == icl.stop
    assert not plain.system and not plain.examples
    prompt = load_prompt_set("lima_style").prompts[0]
    zero_shot, aligned = plain.render(prompt).prompt, icl.render(prompt).prompt
    assert zero_shot == f"User: {prompt.turns[0]}\nAssistant:"
    assert aligned is not None and aligned.endswith(zero_shot) and len(aligned) > len(zero_shot)


def test_icl_examples_are_short_consistent_and_include_a_refusal() -> None:
    icl = load_template("icl-alignment")
    assert 3 <= len(icl.examples) <= 5
    assert any("won't help" in e.assistant for e in icl.examples)
    assert any(e.assistant.lstrip().startswith("1.") or "\n1. " in e.assistant for e in icl.examples)
    preamble = icl.render(load_prompt_set("lima_style").prompts[0]).prompt or ""
    assert len(preamble.split()) < 400, "keeps the preamble well under ~600 tokens"


def test_chat_variants_mirror_the_text_ones() -> None:
    icl, chat_icl = load_template("icl-alignment"), load_template("chat-icl-alignment")
    assert chat_icl.system == icl.system and chat_icl.examples == icl.examples
    assert load_template("chat-plain").examples == () and not load_template("chat-plain").system


def test_multi_turn_dialogue_renders_each_turn() -> None:
    dialogue = next(p for p in load_prompt_set("lima_style") if len(p.turns) == 2)
    icl = load_template("icl-alignment")
    second = icl.render(dialogue, turn=1, previous_outputs=["First answer."]).prompt or ""
    assert (
        f"User: {dialogue.turns[0]}\nAssistant: First answer.\n\nUser: {dialogue.turns[1]}\nAssistant:"
        in second
    )
    chat = load_template("chat-icl-alignment").render(dialogue, turn=1, previous_outputs=["First answer."])
    assert [m.role for m in chat.messages][-3:] == ["user", "assistant", "user"]
