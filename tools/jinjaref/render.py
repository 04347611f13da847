#!/usr/bin/env python3
"""Reference renderer for chat templates: real Jinja2 configured the way
transformers' chat_template_utils._compile_jinja_template configures it.

Reads one JSON request on stdin:
  {"template": "...", "context": {...}, "now": "2024-07-26T10:00:00"}
or a batch {"batch": [request, ...]}.
Writes JSON: {"ok": true, "output": "..."} or {"ok": false, "type": "...", "error": "...",
"lineno": n} (lineno for syntax errors)
(a list of those for a batch).
"""
import json
import sys
from datetime import datetime

import jinja2
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(Extension):
    """transformers' AssistantTracker as far as rendering goes: {% generation %}...{% endgeneration %}
    renders its body (as a call block, i.e. in a scope of its own)."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def make_env(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return (now if now is not None else datetime.now()).strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render_one(req):
    now = req.get("now")
    now = datetime.fromisoformat(now) if now else None
    try:
        template = make_env(now).from_string(req["template"])
        return {"ok": True, "output": template.render(**req.get("context", {}))}
    except Exception as e:  # reported, not raised: the caller compares
        res = {"ok": False, "type": type(e).__name__, "error": str(e)}
        if getattr(e, "lineno", None) is not None:
            res["lineno"] = e.lineno
        return res


def main():
    req = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    if "batch" in req:
        res = [render_one(r) for r in req["batch"]]
    else:
        res = render_one(req)
    sys.stdout.buffer.write(json.dumps(res, ensure_ascii=False).encode("utf-8"))


if __name__ == "__main__":
    main()
