"""From a candidate workflow to a validated DSL document, deterministically.

Every candidate goes through the same steps: node templates are expanded, literal
credentials are moved into secret environment variables, the builder normalizes nodes and
repairs edges and handles (`repair_graph`), secrets are scrubbed, and the YAML that would be
exported is validated. What is still wrong comes back as `path: message` lines, which is
exactly what the quality step is asked to fix.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from revline.workflows.dsl import (
    AppSpec,
    EnvVar,
    InvalidGraph,
    SecretInDSL,
    build_dsl,
    dump_dsl,
    scrub_secrets,
)
from revline.workflows.generator.types import TemplateCandidate, WorkflowDraft
from revline.workflows.validator import ValidationReport, validate_text
from revline.workflows.validator.report import Issue
from revline.workflows.validator.secrets import SECRET_KEYS, SECRET_PATTERNS

_ENV_REF = re.compile(r"^\s*(?:(?:Bearer|Basic|Token)\s+)?\{\{#env\.[A-Za-z0-9_]+#\}\}\s*$")
_TEXT_SECRET = re.compile(
    r"(?i)\b(api[ _-]?key|access[ _-]?token|token|password|secret|client[ _-]?secret)"
    r"(\s*(?:[:=]|\bis\b)\s*)([\"']?)([^\s\"',;]{6,})\3"
)
SECRET_MARK = "[secret removed]"
# Warnings for imported DSL (real exports name nodes by title) that generated DSL may not
# have: Dify resolves node ids only, so such a reference comes out empty at run time.
STRICT_FOR_GENERATED = frozenset({"var.node_title"})


@dataclass
class Candidate:
    """One built candidate: the document and YAML when it could be built, and its issues."""

    draft: WorkflowDraft
    document: dict[str, Any] | None = None
    dsl: str | None = None
    report: ValidationReport | None = None
    repairs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # could not build or export at all
    templates_used: list[str] = field(default_factory=list)
    secrets_moved: list[str] = field(default_factory=list)

    def _errors(self) -> list[Issue]:
        """Validator errors, plus the warnings generated DSL is not allowed to have."""
        if self.report is None:
            return []
        return [i for i in self.report.issues
                if i.severity == "error" or i.code in STRICT_FOR_GENERATED]

    def _warnings(self) -> list[Issue]:
        if self.report is None:
            return []
        return [i for i in self.report.warnings if i.code not in STRICT_FOR_GENERATED]

    @property
    def valid(self) -> bool:
        """Built, exported, accepted by the validator, and every reference resolves."""
        return self.dsl is not None and self.report is not None and not self._errors()

    def error_lines(self) -> list[str]:
        """What is wrong, one `path: message` per line (the quality step's input)."""
        return list(self.problems) + [issue.line() for issue in self._errors()]

    def warning_lines(self) -> list[str]:
        """Warnings of the exported YAML."""
        return [i.line() for i in self._warnings()]

    def issues(self) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        """Errors and warnings as JSON (build problems count as errors)."""
        errors = [Issue("workflow", p, "generator.build").as_dict() for p in self.problems]
        errors += [i.as_dict() for i in self._errors()]
        return errors, [i.as_dict() for i in self._warnings()]


def redact_text(text: str) -> tuple[str, int]:
    """The text with credentials replaced by a marker, and how many were removed."""
    count = 0

    def mark(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return SECRET_MARK

    for _, hints, pattern in SECRET_PATTERNS:
        if any(h in text for h in hints):
            text = pattern.sub(mark, text)

    def keyed(match: re.Match[str]) -> str:
        nonlocal count
        if SECRET_MARK.startswith(match.group(4)):
            return match.group(0)  # already removed by the pattern pass
        count += 1
        return f"{match.group(1)}{match.group(2)}{SECRET_MARK}"

    text = _TEXT_SECRET.sub(keyed, text)
    return text, count


def expand_templates(
    graph: dict[str, Any], templates: dict[str, TemplateCandidate]
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Replace `{id, template: T, data: overrides}` nodes by the template's data + overrides."""
    out = copy.deepcopy(graph)
    used: list[str] = []
    problems: list[str] = []
    for i, node in enumerate(out.get("nodes") or []):
        if not isinstance(node, dict) or not node.get("template"):
            continue
        name = str(node.pop("template"))
        template = templates.get(name)
        if template is None:
            problems.append(f"workflow.graph.nodes[{i}].template: unknown node template "
                            f"{name!r}; use one of {sorted(templates) or 'none offered'} or "
                            "write the node's data in full")
            continue
        data = copy.deepcopy(template.data)
        overrides = node.get("data")
        data.update(overrides if isinstance(overrides, dict) else {})
        data["type"] = template.node_type
        node["data"] = data
        if name not in used:
            used.append(name)
    return out, used, problems


def _env_name(base: str, taken: set[str]) -> str:
    name = re.sub(r"[^A-Z0-9_]", "_", base.upper()).strip("_") or "SECRET"
    if name[0].isdigit():
        name = f"S_{name}"
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    taken.add(candidate)
    return candidate


def secrets_to_env(
    graph: dict[str, Any], env: list[EnvVar]
) -> tuple[dict[str, Any], list[EnvVar], list[str]]:
    """Move literal credentials in node data into blank secret env variables.

    The value is dropped, never exported: the user sets it in Dify after import.
    """
    out = copy.deepcopy(graph)
    taken = {v.name for v in env}
    added: list[EnvVar] = []
    moved: list[str] = []

    def new_ref(node_id: str, key: str) -> str:
        name = _env_name(f"{node_id}_{key}", taken)
        added.append(EnvVar(name=name, value_type="secret",
                            description=f"credential moved out of node {node_id!r}"))
        moved.append(f"{node_id}.{key} -> env.{name}")
        return "{{#env." + name + "#}}"

    def walk(value: Any, node_id: str, key: str) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, node_id, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, node_id, key) for v in value]
        if not isinstance(value, str) or not value.strip():
            return value
        if key.lower() in SECRET_KEYS and not _ENV_REF.match(value):
            prefix = re.match(r"^\s*((?:Bearer|Basic|Token)\s+)?", value)
            head = prefix.group(1) or "" if prefix else ""
            return head + new_ref(node_id, key)
        for _, hints, pattern in SECRET_PATTERNS:
            if not any(h in value for h in hints):
                continue
            value = pattern.sub(lambda m: _keep_frame(m.group(0), new_ref(node_id, key)), value)
        return value

    for node in out.get("nodes") or []:
        if isinstance(node, dict) and isinstance(node.get("data"), dict):
            node["data"] = walk(node["data"], str(node.get("id", "node")), "value")
    return out, [*env, *added], moved


def _keep_frame(found: str, ref: str) -> str:
    """Keep what surrounds the credential itself: `Bearer `, `scheme://` and `@`."""
    if found.startswith("Bearer"):
        return "Bearer " + ref
    if "://" in found and found.endswith("@"):
        return found.split("://", 1)[0] + "://" + ref + "@"
    return ref


def _env_vars(draft: WorkflowDraft) -> list[EnvVar]:
    out: list[EnvVar] = []
    seen: set[str] = set()
    for spec in draft.environment_variables:
        name = re.sub(r"[^A-Za-z0-9_]", "_", spec.name).strip("_") or "VAR"
        if name in seen:
            continue
        seen.add(name)
        secretish = spec.value_type == "secret" or any(
            w in name.lower() for w in ("key", "token", "secret", "password", "credential")
        ) or bool(redact_text(spec.value)[1])
        if secretish:
            out.append(EnvVar(name=name, value_type="secret", description=spec.description))
        elif spec.value_type == "number":
            try:
                number: int | float = float(spec.value) if "." in spec.value else int(spec.value)
            except ValueError:
                number = 0
            out.append(EnvVar(name=name, value=number, value_type="number",
                              description=spec.description))
        else:
            out.append(EnvVar(name=name, value=spec.value, description=spec.description))
    return out


def build_candidate(draft: WorkflowDraft, templates: dict[str, TemplateCandidate]) -> Candidate:
    """Expand, de-secret, build (repairing edges), scrub and validate one candidate."""
    candidate = Candidate(draft=draft)
    graph = draft.graph.model_dump(exclude_none=True)
    graph, candidate.templates_used, problems = expand_templates(graph, templates)
    candidate.problems += problems
    graph, env, candidate.secrets_moved = secrets_to_env(graph, _env_vars(draft))
    app = AppSpec(name=draft.name.strip()[:120] or "Generated workflow", mode=draft.app_mode,
                  description=draft.description.strip())
    try:
        built = build_dsl(app, graph, environment_variables=env)
    except InvalidGraph as exc:
        candidate.problems.append(exc.message)
        return candidate
    candidate.repairs = list(built.repairs)
    try:
        candidate.document = scrub_secrets(built.document)
        candidate.dsl = dump_dsl(candidate.document)
    except SecretInDSL as exc:
        candidate.problems.append(exc.message)
        candidate.document = None
        return candidate
    candidate.report = validate_text(candidate.dsl, source="generated")
    return candidate


def draft_from_graph(name: str, description: str, app_mode: str,
                     graph: dict[str, Any]) -> WorkflowDraft:
    """A WorkflowDraft around a plain `{nodes, edges}` graph (patterns, retrieval mode)."""
    return WorkflowDraft.model_validate({
        "name": name[:120], "description": description, "app_mode": app_mode, "graph": graph,
    })
