"""Golden renderings of the chat-template corpus (test/fixtures/chat-templates/) with Python jinja2.

Reproduces how transformers' `apply_chat_template` renders a template (its `_compile_jinja_template`
and `render_jinja_template`), without needing transformers:

- `ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)` with the `loopcontrols`
  extension (transformers also adds an extension for `{% generation %}` blocks; no template in the
  corpus uses one, and jinja2 would refuse to parse it here, so the omission cannot go unnoticed);
- its own `tojson` filter: `json.dumps(x, ensure_ascii=False, indent=…, separators=…, sort_keys=…)`,
  replacing jinja2's, which escapes HTML characters;
- globals `raise_exception` (raises `TemplateError`) and `strftime_now`, which here formats a fixed
  moment (FIXED_NOW) so that the golden files do not depend on the day they were made;
- variables: the tokenizer's special tokens, then the template's extra variables, then `messages`,
  `tools` (None without tools), `documents` (None) and `add_generation_prompt`.

Every conversation is rendered with add_generation_prompt false and, when it ends with a user turn,
true as well; for each variable set the template's entry in templates.json lists. An exception is
recorded as the case's error (the TypeScript side must then throw too).

Run from the repository root: /usr/bin/python3 reference/render_chat_templates.py
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from typing import Dict, List

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from golden_io import REPO_ROOT, write_json

CORPUS = os.path.join(REPO_ROOT, "test", "fixtures", "chat-templates")
GOLDEN = os.path.join(CORPUS, "golden")
# Llama 3.1's own default date; any fixed moment would do. The test passes the same one.
FIXED_NOW = datetime.datetime(2024, 7, 26, 12, 0, 0)


def raise_exception(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def tojson(value: object, ensure_ascii: bool = False, indent=None, separators=None, sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def compile_template(source: str) -> jinja2.Template:
    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    environment.filters["tojson"] = tojson
    environment.globals["raise_exception"] = raise_exception
    environment.globals["strftime_now"] = FIXED_NOW.strftime
    return environment.from_string(source)


def load_json(name: str) -> object:
    with open(os.path.join(CORPUS, name), encoding="utf-8") as handle:
        return json.load(handle)


def render_case(template: jinja2.Template, special_tokens: Dict[str, str], variables: Dict[str, object],
                messages: List[dict], tools, add_generation_prompt: bool) -> Dict[str, str]:
    try:
        text = template.render(**special_tokens, **variables, messages=messages, tools=tools, documents=None,
                               add_generation_prompt=add_generation_prompt)
    except Exception as error:  # noqa: BLE001 — any failure is a golden outcome the other side must match
        return {"error": f"{type(error).__name__}: {error}"}
    return {"text": text}


def golden_for(name: str, model: dict, corpus: dict) -> dict:
    with open(os.path.join(CORPUS, f"{name}.jinja"), encoding="utf-8") as handle:
        template = compile_template(handle.read())
    cases = []
    for conversation in corpus["conversations"]:
        if name not in conversation.get("templates", [name]):
            continue
        tools = corpus["tools"] if conversation.get("tools") else None
        prompts = [False, True] if conversation["messages"][-1]["role"] == "user" else [False]
        for variables in model["variants"]:
            for add_generation_prompt in prompts:
                outcome = render_case(template, model["specialTokens"], variables, conversation["messages"], tools,
                                      add_generation_prompt)
                cases.append({"conversation": conversation["name"], "variables": variables,
                              "addGenerationPrompt": add_generation_prompt, **outcome})
    return {"template": name, "renderer": f"jinja2 {jinja2.__version__}", "cases": cases}


def main(names: List[str]) -> None:
    models = load_json("templates.json")
    corpus = load_json("conversations.json")
    unknown = [name for name in names if name not in models]
    if unknown:
        sys.exit(f"render_chat_templates: unknown template(s) {', '.join(unknown)}; known: {', '.join(models)}")
    for name in names or list(models):
        golden = golden_for(name, models[name], corpus)
        write_json(os.path.join(GOLDEN, f"{name}.json"), golden)
        errors = sum(1 for case in golden["cases"] if "error" in case)
        print(f"{name}: {len(golden['cases'])} cases, {errors} raise")


if __name__ == "__main__":
    main(sys.argv[1:])
