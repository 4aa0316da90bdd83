"""Reference pages generated from the code at build time (the mkdocs hook ``reference.py`` calls these).

Each function returns Markdown; a page asks for one with a line ``<!-- generated: NAME -->``.
Nothing here is copied from the code by hand: the HTTP reference is each app's own OpenAPI
document (the apps are built in memory, no server is started), the configuration fields come from
``TrainConfig`` and ``FIELD_CHECKS``, the limits from the ``*_MAX``/``*_LIMIT`` constants of the
source tree and the exit codes from ``sharedcore.console``. tests/test_docs.py checks that every
generated page names what it should.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import inspect
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"


def _cell(text: object) -> str:
    """One Markdown table cell: no newlines, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _prose(text: str) -> str:
    """A source comment as a table cell: Markdown's emphasis characters outside code spans shown as
    written (``__init__``, ``2**25``, ``x * y``); reST's double backticks become code spans."""
    parts = re.split(r"(``?[^`]+``?)", text)
    for i, part in enumerate(parts):
        if part.startswith("`"):
            parts[i] = "`" + part.strip("`") + "`"
        else:
            for ch in ("\\", "*", "_", "<"):
                part = part.replace(ch, "\\" + ch)
            parts[i] = part
    return _cell("".join(parts))


# ---------------------------------------------------------------------------------------------- HTTP


def _schema_type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#schema-{name.lower()})"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " or ".join(_schema_type(s) for s in schema[key])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_schema_type(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        return f"object of {_schema_type(extra) if isinstance(extra, dict) else 'any'}"
    if "enum" in schema:
        return f"{kind}: " + ", ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    bounds = [f"{op} {schema[k]}" for k, op in (("minimum", ">="), ("maximum", "<=")) if k in schema]
    bounds += [f"{op} {schema[k]}" for k, op in (("exclusiveMinimum", ">"), ("exclusiveMaximum", "<"))
               if k in schema]  # fmt: skip
    if "maxLength" in schema:
        bounds.append(f"at most {schema['maxLength']} characters")
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def openapi_markdown(spec: dict[str, Any]) -> str:
    """The endpoints and schemas of an OpenAPI 3 document as Markdown sections and tables."""
    out: list[str] = []
    info = spec.get("info", {})
    if info.get("description"):
        out += [_cell(info["description"]), ""]
    out += [f"OpenAPI {spec.get('openapi', '?')}, {info.get('title', '')} {info.get('version', '')}.", ""]
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            out += [f"### `{method.upper()} {path}`", ""]
            if op.get("summary"):
                out += [f"**{_cell(op['summary'])}**", ""]
            if op.get("description"):
                out += [op["description"].strip(), ""]
            params = op.get("parameters", [])
            if params:
                out += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
                for p in params:
                    schema = p.get("schema", {})
                    desc = p.get("description") or schema.get("description", "")
                    if "default" in schema:
                        desc = f"{desc} (default `{schema['default']}`)".strip()
                    out.append(
                        f"| `{p['name']}` | {p.get('in', '')} | {_cell(_schema_type(schema))} | "
                        f"{'yes' if p.get('required') else ''} | {_cell(desc)} |"
                    )
                out.append("")
            body = op.get("requestBody")
            if body:
                kinds = [
                    f"`{ctype}`" + (f" ({_schema_type(c['schema'])})" if c.get("schema") else "")
                    for ctype, c in body.get("content", {}).items()
                ]
                req = "required" if body.get("required") else "optional"
                out += [f"Request body ({req}): {', '.join(kinds)}", ""]
            responses = op.get("responses", {})
            if responses:
                out += ["| status | description | body |", "|---|---|---|"]
                for code, resp in responses.items():
                    content = resp.get("content", {})
                    shown = [
                        f"`{ctype}`" + (f" {_schema_type(c['schema'])}" if c.get("schema") else "")
                        for ctype, c in content.items()
                    ]
                    out.append(
                        f"| {code} | {_cell(resp.get('description', ''))} | {_cell(', '.join(shown))} |"
                    )
                out.append("")
    schemas = spec.get("components", {}).get("schemas", {})
    if schemas:
        out += ["## Schemas", ""]
        for name, schema in schemas.items():
            out += [f"### {name} {{: #schema-{name.lower()} }}", ""]
            if schema.get("description"):
                out += [_cell(schema["description"]), ""]
            props = schema.get("properties", {})
            required = set(schema.get("required", []))
            if props:
                out += ["| field | type | required | description |", "|---|---|---|---|"]
                for field, p in props.items():
                    desc = p.get("description", "")
                    if "default" in p and p["default"] is not None:
                        desc = f"{desc} (default `{json.dumps(p['default'])}`)".strip()
                    out.append(
                        f"| `{field}` | {_cell(_schema_type(p))} | {'yes' if field in required else ''} | "
                        f"{_cell(desc)} |"
                    )
                out.append("")
            elif "enum" in schema:
                out += [", ".join(f"`{v}`" for v in schema["enum"]), ""]
    return "\n".join(out)


def avatargen_openapi() -> dict[str, Any]:
    """The OpenAPI document of ``avatargen serve example`` (the app built in memory)."""
    from avatargen.serve.main import create_app
    from avatargen.serve.service import StyleService, load_model

    return create_app(StyleService(load_model("example"))).openapi()


class _StubScorer:
    """The smallest scorer the service accepts: the app's routes do not depend on the model, so the
    reference is built without training or loading one."""

    input_size = (32, 48)
    threshold_rule_ = "prior"

    def threshold(self, rule: str | None = None) -> float:
        return 0.5

    def score_samples(self, images: np.ndarray) -> np.ndarray:
        return np.zeros(len(images), dtype=np.float32)


@contextlib.contextmanager
def _spillguard_app() -> Iterator[Any]:
    from spillguard.deploy.service.config import ServiceConfig
    from spillguard.deploy.service.main import create_app

    with tempfile.TemporaryDirectory(prefix="spillguard-docs.") as tmp:
        run = Path(tmp) / "docs-run"
        run.mkdir()
        (run / "checkpoint.pt").write_bytes(b"reference only")
        cfg = ServiceConfig(run=run, db=Path(tmp) / "v.sqlite", loader=lambda _run: (_StubScorer(), None))
        app = create_app(cfg)
        try:
            yield app
        finally:
            service = getattr(app.state, "service", None)
            store = getattr(service, "store", None)
            if store is not None:
                store.close()


def spillguard_openapi() -> dict[str, Any]:
    """The OpenAPI document of ``spillguard serve`` (the app built in memory around a stub scorer)."""
    with _spillguard_app() as app:
        return dict(app.openapi())


def openapi_avatargen() -> str:
    return openapi_markdown(avatargen_openapi())


def openapi_spillguard() -> str:
    return openapi_markdown(spillguard_openapi())


# --------------------------------------------------------------------------------------- config


def _comment(line: str) -> str:
    """The comment at the end of a source line ('' if none)."""
    return line.split("  # ", 1)[1].strip() if "  # " in line else ""


def _comments_above(lines: list[str], index: int) -> str:
    """The comment lines just above ``lines[index]``, joined."""
    above: list[str] = []
    i = index - 1
    while i >= 0 and lines[i].lstrip().startswith("#"):
        above.insert(0, lines[i].strip().lstrip("#:").strip())
        i -= 1
    return " ".join(above)


def _field_comments(cls: type) -> dict[str, str]:
    """Each dataclass field's comment in the source: the comment at the end of its statement, else
    the comment lines just above it."""
    lines = inspect.getsource(cls).splitlines()
    (node,) = ast.parse("\n".join(lines)).body
    assert isinstance(node, ast.ClassDef)
    comments: dict[str, str] = {}
    for stmt in node.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            span = lines[stmt.lineno - 1 : (stmt.end_lineno or stmt.lineno)]
            tail = " ".join(c for c in map(_comment, span) if c)
            comments[stmt.target.id] = tail or _comments_above(lines, stmt.lineno - 1)
    return comments


def config_fields() -> str:
    """Every TrainConfig field: its type and range (``FIELD_CHECKS``), allowed names, default, meaning."""
    from spillguard.config import FIELD_CHECKS, TrainConfig, field_choices

    comments = _field_comments(TrainConfig)
    choices = field_choices()
    out = [
        "| field | accepted values | default | what it sets |",
        "|---|---|---|---|",
    ]
    for f in dataclasses.fields(TrainConfig):
        check = FIELD_CHECKS.get(f.name)
        accepted = (check.__doc__ or "") if check is not None else ""
        if f.name in choices:
            accepted = "one of " + ", ".join(f"`{c}`" for c in sorted(choices[f.name]))
            if f.name == "threshold_rule":
                accepted += ", or unset"
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        shown = "unset (chosen from the data)" if default is None else f"`{json.dumps(default)}`"
        out.append(
            f"| `{f.name}` | {_cell(accepted)} | {_cell(shown)} | {_prose(comments.get(f.name, ''))} |"
        )
    return "\n".join(out)


# --------------------------------------------------------------------------------------- limits

_LIMIT_NAME = re.compile(r"^[A-Z][A-Z0-9_]*(_MAX|_LIMIT|MAX_[A-Z0-9_]*)$")


def _evaluate(node: ast.expr) -> object:
    """The value of a constant expression of numbers and + - * / ** (else the source text)."""
    ops: dict[type, Callable[[Any, Any], Any]] = {
        ast.Add: lambda a, b: a + b,
        ast.Sub: lambda a, b: a - b,
        ast.Mult: lambda a, b: a * b,
        ast.Div: lambda a, b: a / b,
        ast.Pow: lambda a, b: a**b,
    }
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in ops:
        return ops[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    raise ValueError(ast.unparse(node))


def limit_constants() -> list[tuple[str, str, str, object, str]]:
    """(module, name, expression, value, comment) of every module-level ``*_MAX``/``*_LIMIT`` constant."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        module = ".".join(path.relative_to(SRC).with_suffix("").parts)
        for node in ast.parse(text).body:
            target = None
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                target, value = node.targets[0].id, node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
                target, value = node.target.id, node.value
            if target is None or not _LIMIT_NAME.match(target):
                continue
            try:
                number = _evaluate(value)
            except ValueError:
                continue
            comment = _comment(lines[node.lineno - 1]) or _comments_above(lines, node.lineno - 1)
            found.append((module, target, ast.unparse(value), number, comment))
    return found


def _number(value: object) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:g}"


def limits() -> str:
    """The stated limits: every ``*_MAX``/``*_LIMIT`` constant, and the service's upload limits."""
    out = ["| where | constant | value | what it limits |", "|---|---|---|---|"]
    for module, name, expr, value, comment in limit_constants():
        shown = _number(value) + (f" (`{expr}`)" if expr != str(value).replace(",", "") else "")
        out.append(f"| `{module}` | `{name}` | {shown} | {_prose(comment)} |")
    out += ["", "Upload limits of `spillguard serve` (`Limits`; the serve options that set them are in the "
            "[CLI reference](cli.md)):", "", "| field | default |", "|---|---|"]  # fmt: skip
    from spillguard.deploy.service.uploads import Limits

    for f in dataclasses.fields(Limits):
        out.append(f"| `{f.name}` | {_number(f.default)} |")
    return "\n".join(out)


def exit_codes() -> str:
    """The exit codes every command shares, as ``sharedcore.console`` states them."""
    import sharedcore.console as console

    doc = console.__doc__ or ""
    para = next((p for p in doc.split("\n\n") if "Exit codes" in p), "")
    text = " ".join(para.split())
    head, _, body = text.partition(": ")
    head = head.replace(":func:", "")
    rows = re.findall(r"(\d+)\s+([^;]+)", body)
    out = [f"{_cell(head)}:", "", "| exit code | meaning |", "|---|---|"]
    out += [f"| {code} | {_cell(meaning.strip().rstrip('.'))} |" for code, meaning in rows]
    return "\n".join(out)


def test_markers() -> str:
    """The pytest markers pyproject.toml registers (``--strict-markers``), each with its reason."""
    import tomllib

    options = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"][
        "ini_options"
    ]
    rows = []
    for marker in options.get("markers", []):
        name, _, reason = marker.partition(":")
        rows.append(f"- `{name.strip()}`: {_cell(reason.strip())}")
    rows.append(f"\nDefault options (`addopts`): `{options.get('addopts', '')}`.")
    return "\n".join(rows)


GENERATORS: dict[str, Callable[[], str]] = {
    "openapi-avatargen": openapi_avatargen,
    "openapi-spillguard": openapi_spillguard,
    "config-fields": config_fields,
    "limits": limits,
    "exit-codes": exit_codes,
    "test-markers": test_markers,
}
