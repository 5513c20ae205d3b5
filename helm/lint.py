#!/usr/bin/env python3
"""Lints the Helm chart with real Helm, in strict mode, once per values variant, and checks what
it renders.

    python3 helm/lint.py [CHART_DIR]        (default: the rapport chart beside this file)

Helm comes from the PyPI package helm-sdkpy, which embeds Helm 4 as a library, so no helm
binary and no cluster are needed. Install it with PyYAML into a virtual environment first:

    pip install --ignore-requires-python helm-sdkpy cffi pyyaml

The variants are the chart's default values, then, for each service in values.yaml, every
service disabled but that one, then one turning on the optional parts (autoscaling, existing
Secrets, a public key, network policy peers, no migration hook, own spread constraints), so that
every template is rendered at least once (the ServiceMonitor only where the cluster has its CRD,
so not here), and one adding a service that values.yaml does not name (`tickets`, or the next
free name, with a copy of the first service's block), which must deploy like the others. Then
come variants the chart must refuse: that added block with a key the schema does not know, a Redis
URL the binary does not speak (both refused by the values schema), a grace period shorter than the
shutdown, a ServiceMonitor behind a NetworkPolicy that closes the metrics port, and an upgrade
rendered without cluster access that would replace the generated token secret (and, beside it, the
same upgrade with an existing Secret, which must render).

Strict mode as in `helm lint --strict`: any WARNING or ERROR fails the run (INFO does not).
helm-sdkpy's Lint takes no values and no strict flag, so each variant is linted as a copy of
the chart whose values.yaml is the defaults merged with the variant, and the strictness is
applied here to the severities Helm reports. The text of a message does not survive
helm-sdkpy's JSON (only its severity and file do).

Render checks. helm-sdkpy has no template or dry-run action that works without a cluster, but
in lint mode Helm renders every template and logs each `fail` as a "funcMap fail" INFO line on
stderr, with its message, and goes on. So this script reads Helm's stderr: the chart's own checks
must give exactly the messages a variant expects (none for a valid one). And the copy of the
chart gets one more template, which renders every template of the chart with `include` and
hands each result to `fail`: that is how the manifests reach this script, which then checks the
behaviour the values promise (replicas, topology spread, startup probe budget, the checksum of
the generated token secret and its keep policy, the migration hook's delete policy, the Redis
persistence note). For the upgrade variants the templates are included with a context whose
`.Release.IsUpgrade` is true; lookup finds nothing in lint mode, as without cluster access.

Exit status: 0 when every variant is clean, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

SEVERITIES = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}
# helm lint --strict fails on warnings and errors.
STRICT_LOWEST = 2
# Helm's default --timeout: how long it waits for a hook such as the migration Job.
HELM_TIMEOUT_SECONDS = 300
# The server's readiness pass on shutdown (rapport.readinessPassSeconds in the chart).
READINESS_PASS_SECONDS = 5
# Names for a service that values.yaml does not name, the first one free: the variants add it by
# its block alone, and the optional parts name it as a peer run by another release.
ADDED_SERVICE_NAMES = ("tickets", "partners", "campaigns")
# The extra template the render checks add to the copy of the chart, and its messages' prefix.
PROBE_TEMPLATE = "templates/zz-lint-render.yaml"
PROBE_MARK = "rapport-lint-render "


@dataclass
class Variant:
    """Values to lint, and what the chart must make of them."""

    description: str
    override: dict
    # Messages (parts of) the chart's checks must give; any other message fails the variant.
    fails: tuple[str, ...] = ()
    # The values schema must refuse the values (Helm reports an ERROR on values.yaml).
    schema_error: bool = False
    # Render the templates as an upgrade (.Release.IsUpgrade), without cluster access.
    upgrade: bool = False


def merge(base: dict, override: dict) -> dict:
    """Deep merge of values, as Helm coalesces them: maps merge, the rest is replaced."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def variants(defaults: dict) -> list[Variant]:
    """The variants to lint."""
    services = sorted(defaults.get("services", {}))
    added_name = next(
        name
        for name in (*ADDED_SERVICE_NAMES, *(f"service{i}" for i in range(len(services) + 1)))
        if name not in services
    )
    # The chart refuses to install without a database and a Redis; lint mode only logs that
    # (Helm's "funcMap fail" INFO lines for the default values). The other variants give both.
    connections = {
        "postgresql": {"url": "postgres://rapport:secret@postgresql:5432/rapport"},
        "redis": {"url": "redis://redis:6379/0"},
    }
    out = [
        Variant(
            "default values",
            {},
            fails=("PostgreSQL is required", "Redis is required"),
        )
    ]
    for only in services:
        out.append(
            Variant(
                f"only {only} enabled",
                merge(
                    connections,
                    {"services": {name: {"enabled": name == only} for name in services}},
                ),
            )
        )
    out.append(
        Variant(
            "optional parts on",
            {
                "image": {"digest": "sha256:" + "0" * 64},
                "imagePullSecrets": [{"name": "registry-credentials"}],
                "services": {
                    name: {
                        "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5},
                        "pdb": {"minAvailable": None, "maxUnavailable": "50%"},
                        "env": [{"name": "RAPPORT_DB_MAX_CONNECTIONS", "value": "32"}],
                        "extraArgs": ["--max-concurrent-requests", "512"],
                        "podAnnotations": {"example.com/team": "crm"},
                        "nodeSelector": {"kubernetes.io/os": "linux"},
                        "tolerations": [
                            {
                                "key": "dedicated",
                                "operator": "Equal",
                                "value": "crm",
                                "effect": "NoSchedule",
                            }
                        ],
                        # One service brings its own constraints, the others take the defaults.
                        "topologySpreadConstraints": (
                            [
                                {
                                    "maxSkew": 2,
                                    "topologyKey": "topology.kubernetes.io/zone",
                                    "whenUnsatisfiable": "DoNotSchedule",
                                    "labelSelector": {
                                        "matchLabels": {"app.kubernetes.io/component": name}
                                    },
                                }
                            ]
                            if name == services[0]
                            else []
                        ),
                    }
                    for name in services
                },
                "topologySpread": {"whenUnsatisfiable": "DoNotSchedule", "maxSkew": 2},
                "peers": {added_name: f"http://{added_name}.example:50051"},
                "postgresql": {"existingSecret": "rapport-database"},
                "redis": {"existingSecret": "rapport-redis"},
                "auth": {"publicKey": {"existingSecret": "rapport-issuer"}, "revision": 2},
                "env": [
                    {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector:4317"}
                ],
                "migrations": {"enabled": False},
                "serviceAccount": {"create": False, "name": "rapport"},
                "networkPolicy": {
                    "ingressFrom": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                            }
                        }
                    ],
                    "metricsFrom": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                            }
                        }
                    ],
                },
                "metrics": {
                    "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}
                },
            },
        )
    )
    out.append(
        Variant(
            "no default topology spread",
            merge(connections, {"topologySpread": {"enabled": False}}),
        )
    )
    # A service the values do not name yet: the schema takes any block of the same shape under
    # `services`, and the templates deploy it like the others.
    added = copy.deepcopy(defaults["services"][services[0]])
    out.append(
        Variant(
            f"a service added by its values block alone ({added_name})",
            merge(connections, {"services": {added_name: added}}),
        )
    )
    out.append(
        Variant(
            "an added service's block with an unknown key (refused by the values schema)",
            merge(connections, {"services": {added_name: merge(added, {"replica": 3})}}),
            schema_error=True,
        )
    )
    out.append(
        Variant(
            "a rediss:// URL (refused: the binary speaks only redis://)",
            merge(connections, {"redis": {"url": "rediss://redis:6380/0"}}),
            schema_error=True,
        )
    )
    shutdown = (
        READINESS_PASS_SECONDS
        + defaults["shutdown"]["drainSeconds"]
        + defaults["grpc"]["requestTimeoutSeconds"]
    )
    out.append(
        Variant(
            f"a grace period of {shutdown} s, no longer than the shutdown",
            merge(connections, {"shutdown": {"terminationGracePeriodSeconds": shutdown}}),
            fails=("shutdown.terminationGracePeriodSeconds",),
        )
    )
    out.append(
        Variant(
            "a ServiceMonitor behind the NetworkPolicy, metrics port closed",
            merge(connections, {"metrics": {"serviceMonitor": {"enabled": True}}}),
            fails=("networkPolicy.metricsFrom is empty",),
        )
    )
    out.append(
        Variant(
            "an upgrade without cluster access, generated token secret",
            connections,
            fails=("cannot read back the generated Secret",),
            upgrade=True,
        )
    )
    out.append(
        Variant(
            "an upgrade without cluster access, existing token Secret",
            merge(connections, {"auth": {"jwtSecret": {"existingSecret": "rapport-jwt"}}}),
            upgrade=True,
        )
    )
    return out


def message_text(err: object) -> str:
    """What helm-sdkpy kept of a lint message's error (usually nothing: Go errors marshal to {})."""
    if err in (None, {}, ""):
        return ""
    return err if isinstance(err, str) else json.dumps(err)


# The one-letter escapes of Go's strconv.Quote, and the bytes they stand for.
GO_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
GO_ESCAPES.update({"\\": 92, '"': 34, "'": 39})


def go_unquote(quoted: str) -> str:
    """The string a Go strconv.Quote result (as in Helm's log lines) stands for."""
    body = quoted[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        e = body[i + 1]
        if e in GO_ESCAPES:
            out.append(GO_ESCAPES[e])
            i += 2
        elif e == "x":
            out.append(int(body[i + 2 : i + 4], 16))
            i += 4
        elif e in "uU":
            width = 4 if e == "u" else 8
            out += chr(int(body[i + 2 : i + 2 + width], 16)).encode()
            i += 2 + width
        else:  # octal \NNN
            out.append(int(body[i + 1 : i + 4], 8))
            i += 4
    return out.decode(errors="replace")


FAIL_LINE = re.compile(r'funcMap fail message=("(?:[^"\\]|\\.)*"|\S*)')


def fail_messages(log: str) -> tuple[list[str], list[str]]:
    """Helm's lint log split into the `fail` messages it carries and its other lines."""
    messages, others = [], []
    for line in log.splitlines():
        m = FAIL_LINE.search(line)
        if m:
            value = m.group(1)
            messages.append(go_unquote(value) if value.startswith('"') else value)
        elif line.strip():
            others.append(line)
    return messages, others


def probe_template(chart: Path, chart_name: str, upgrade: bool) -> str:
    """A template rendering each of the chart's templates and failing with the result."""
    names = sorted(
        str(p.relative_to(chart)).replace(os.sep, "/")
        for p in (chart / "templates").rglob("*")
        if p.is_file() and not p.name.startswith("_") and p.suffix in (".yaml", ".yml", ".txt")
    )
    context = "."
    if upgrade:
        # The same values, in a context of its own (so nothing worked out by the normal render
        # is reused) whose release is an upgrade.
        context = (
            'dict "Release" (merge (dict "IsUpgrade" true "IsInstall" false) .Release) '
            '"Values" .Values "Chart" .Chart "Capabilities" .Capabilities "Files" .Files '
            '"Template" .Template "Subcharts" .Subcharts'
        )
    lines = [f"{{{{- $ctx := {context} }}}}"]
    for name in names:
        full = f"{chart_name}/{name}"
        lines.append(
            f'{{{{- fail (printf "%s%s\\n%s" {json.dumps(PROBE_MARK)} {json.dumps(name)} '
            f"(include {json.dumps(full)} $ctx)) }}}}"
        )
    return "\n".join(lines) + "\n"


def rendered(messages: list[str]) -> tuple[dict[str, str], list[str]]:
    """The probe's messages as {template: text}, and the chart's own messages."""
    files, own = {}, []
    for message in messages:
        if message.startswith(PROBE_MARK):
            name, _, text = message[len(PROBE_MARK) :].partition("\n")
            files[name] = text
        else:
            own.append(message)
    return files, own


def check_render(values: dict, files: dict[str, str]) -> list[str]:
    """What the values promise, checked in the rendered manifests; the problems found."""
    import yaml

    problems: list[str] = []
    docs = []
    for name, text in files.items():
        if name.endswith(".txt"):
            continue
        try:
            docs += [d for d in yaml.safe_load_all(text) if d]
        except yaml.YAMLError as e:
            problems.append(f"{name} does not parse: {e}")
    notes = files.get("templates/NOTES.txt", "")

    def component(doc: dict) -> str:
        return doc.get("metadata", {}).get("labels", {}).get("app.kubernetes.io/component", "")

    deployments = {component(d): d for d in docs if d.get("kind") == "Deployment"}
    secrets = [d for d in docs if d.get("kind") == "Secret"]
    jobs = [d for d in docs if d.get("kind") == "Job"]
    auth = values["auth"]
    generates = not auth["jwtSecret"]["existingSecret"] and not auth["publicKey"]["existingSecret"]
    jwt = [s for s in secrets if "jwt-secret" in (s.get("data") or {})]

    enabled = sorted(n for n, s in values["services"].items() if s["enabled"])
    if sorted(deployments) != enabled:
        problems.append(f"Deployments for {sorted(deployments)}, expected {enabled}")

    if generates:
        if len(jwt) != 1:
            problems.append(f"expected one generated token Secret, found {len(jwt)}")
        elif jwt[0]["metadata"].get("annotations", {}).get("helm.sh/resource-policy") != "keep":
            problems.append("the generated token Secret has no helm.sh/resource-policy: keep")
    elif jwt:
        problems.append("a token Secret is generated although an existing Secret is given")

    budget = values["startupProbe"][
        "budgetSeconds" if values["migrations"]["enabled"] else "migrateOnStartBudgetSeconds"
    ]
    spread = values["topologySpread"]
    for name, deployment in sorted(deployments.items()):
        svc = values["services"][name]
        spec = deployment["spec"]
        pod = spec["template"]
        where = f"Deployment {deployment['metadata']['name']}"
        # Replicas: the value, or (autoscaling, nothing live to read back) none at all.
        if svc["autoscaling"]["enabled"]:
            if "replicas" in spec:
                problems.append(f"{where}: replicas rendered with autoscaling and no live count")
        elif spec.get("replicas") != svc["replicas"]:
            problems.append(f"{where}: replicas {spec.get('replicas')}, not {svc['replicas']}")
        # Topology spread: the service's own, else one soft constraint per default key.
        constraints = pod["spec"].get("topologySpreadConstraints", [])
        if svc["topologySpreadConstraints"]:
            expected = svc["topologySpreadConstraints"]
        elif spread["enabled"]:
            selector = spec["selector"]["matchLabels"]
            expected = [
                {
                    "topologyKey": key,
                    "maxSkew": spread["maxSkew"],
                    "whenUnsatisfiable": spread["whenUnsatisfiable"],
                    "labelSelector": {"matchLabels": selector},
                    "matchLabelKeys": ["pod-template-hash"],
                }
                for key in spread["topologyKeys"]
            ]
        else:
            expected = []
        if constraints != expected:
            problems.append(
                f"{where}: topologySpreadConstraints {json.dumps(constraints)}, "
                f"not {json.dumps(expected)}"
            )
        # Startup probe: its period times its failures covers the budget, by less than a period.
        container = pod["spec"]["containers"][0]
        startup = container["startupProbe"]
        period, threshold = startup["periodSeconds"], startup["failureThreshold"]
        if not (period * threshold >= budget > period * (threshold - 1)):
            problems.append(
                f"{where}: startup probe {threshold} x {period} s does not fit a {budget} s budget"
            )
        # Pods roll when the generated secret changes: the checksum of the Secret's data.
        annotations = pod["metadata"].get("annotations", {})
        checksum = annotations.get("checksum/jwt-secret")
        if generates and jwt:
            data = jwt[0]["data"]["jwt-secret"]
            if checksum != hashlib.sha256(data.encode()).hexdigest():
                problems.append(f"{where}: checksum/jwt-secret does not match the Secret")
        elif checksum is not None:
            problems.append(f"{where}: checksum/jwt-secret without a generated Secret")
        revision = auth.get("revision")
        if annotations.get("rapport/auth-revision") != (str(revision) if revision else None):
            problems.append(f"{where}: rapport/auth-revision does not follow auth.revision")

    if values["migrations"]["enabled"]:
        if len(jobs) != 1:
            problems.append(f"expected the migration Job, found {len(jobs)} Jobs")
        for secret in secrets:
            annotations = secret["metadata"].get("annotations", {})
            if "helm.sh/hook" in annotations:
                policy = annotations.get("helm.sh/hook-delete-policy", "").split(",")
                if "hook-failed" not in policy:
                    problems.append(f"hook Secret {secret['metadata']['name']} stays on failure")
    elif jobs:
        problems.append("a migration Job although migrations.enabled is false")

    if "appendonly yes" not in notes:
        problems.append("NOTES.txt does not say how Redis must persist the event streams")
    return problems


def check_defaults(defaults: dict) -> list[str]:
    """Default values that must agree with one another and with Helm's defaults."""
    problems = []
    deadline = defaults["migrations"]["activeDeadlineSeconds"]
    if deadline >= HELM_TIMEOUT_SECONDS:
        problems.append(
            f"migrations.activeDeadlineSeconds ({deadline}) does not fit in Helm's default "
            f"--timeout ({HELM_TIMEOUT_SECONDS} s)"
        )
    startup = defaults["startupProbe"]
    if startup["migrateOnStartBudgetSeconds"] <= startup["budgetSeconds"]:
        problems.append(
            "startupProbe.migrateOnStartBudgetSeconds is not larger than budgetSeconds"
        )
    return problems


def lint_variant(
    helm, config, chart: Path, chart_name: str, variant: Variant, values: dict, workdir: Path
) -> tuple[bool, list[str], str]:
    """Lints a copy of the chart with these values; (clean, printable lines, Helm's other log)."""
    import yaml

    target = workdir / chart.name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(chart, target)
    (target / "values.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    (target / PROBE_TEMPLATE).write_text(probe_template(chart, chart_name, variant.upgrade))

    # Helm logs on the process's stderr: read it from a file for the length of the call.
    with tempfile.TemporaryFile() as log:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        try:
            result = asyncio.run(helm.Lint(config).run(str(target)))
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        messages, other_log = fail_messages(log.read().decode(errors="replace"))
    files, own = rendered(messages)

    lines = []
    clean = True
    for msg in result.get("Messages") or []:
        severity = int(msg.get("Severity", 0))
        name = SEVERITIES.get(severity, str(severity))
        path = msg.get("Path", "")
        text = message_text(msg.get("Err"))
        if severity >= STRICT_LOWEST:
            if variant.schema_error:
                name += ", as expected"
            else:
                clean = False
        lines.append(f"  [{name}] {path}{': ' + text if text else ''}")
    if variant.schema_error:
        if not any(
            int(m.get("Severity", 0)) >= STRICT_LOWEST and m.get("Path") == "values.yaml"
            for m in result.get("Messages") or []
        ):
            lines.append("  [ERROR] the values schema accepted these values")
            clean = False
    elif result.get("Errors"):
        clean = False
    if int(result.get("TotalChartsLinted", 0)) != 1:
        lines.append(
            f"  [ERROR] expected 1 chart linted, Helm linted {result.get('TotalChartsLinted')}"
        )
        clean = False
    if variant.schema_error:
        return clean, lines, "\n".join(other_log)

    # The chart's checks: every expected message, and no other.
    for expected in variant.fails:
        found = [m for m in own if expected in m]
        if found:
            first = found[0].strip().splitlines()[0]
            lines.append(f"  [fails, as expected] {first[:140]}{'...' if len(first) > 140 else ''}")
        else:
            lines.append(f"  [ERROR] no check failed with: {expected}")
            clean = False
    for message in own:
        if not any(expected in message for expected in variant.fails):
            lines.append(f"  [ERROR] unexpected failure: {message.strip()}")
            clean = False

    if not files:
        lines.append(
            "  [ERROR] no rendered manifests reached the render checks (did Helm's lint log "
            "change?)"
        )
        clean = False
    else:
        problems = check_render(values, files)
        for problem in problems:
            lines.append(f"  [ERROR] render: {problem}")
        if problems:
            clean = False
        else:
            lines.append(f"  [render checks] {len(files)} templates rendered, as the values say")
    return clean, lines, "\n".join(other_log)


def main(argv: list[str]) -> int:
    sys.stdout.reconfigure(line_buffering=True)
    chart = Path(
        argv[1] if len(argv) > 1 else Path(__file__).resolve().parent / "rapport"
    ).resolve()
    if not (chart / "Chart.yaml").is_file():
        print(f"error: {chart} is not a chart (no Chart.yaml)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="rapport-helm-lint-") as tmp:
        workdir = Path(tmp)
        try:
            import helm_sdkpy as helm
            import yaml
        except ImportError as e:
            print(
                f"error: {e}; install with: "
                "pip install --ignore-requires-python helm-sdkpy cffi pyyaml",
                file=sys.stderr,
            )
            return 2

        defaults = yaml.safe_load((chart / "values.yaml").read_text()) or {}
        chart_name = yaml.safe_load((chart / "Chart.yaml").read_text())["name"]
        config = helm.Configuration()
        print(f"helm-sdkpy {helm.__version__}: helm lint --strict {chart.name}, and render checks")
        print(
            "(Helm's lint mode logs the chart's checks, such as the missing database URL with "
            "the default values, as 'funcMap fail' INFO lines and goes on: each variant must "
            "give exactly the ones it expects)"
        )
        failed = []
        problems = check_defaults(defaults)
        print(f"{'ok  ' if not problems else 'FAIL'} {chart.name} default values agree")
        for problem in problems:
            print(f"  [ERROR] {problem}")
        if problems:
            failed.append("default values")
        for variant in variants(defaults):
            values = merge(defaults, variant.override)
            clean, lines, other_log = lint_variant(
                helm, config, chart, chart_name, variant, values, workdir
            )
            if other_log:
                print(other_log, file=sys.stderr, flush=True)
            print(f"{'ok  ' if clean else 'FAIL'} {chart.name} with {variant.description}")
            for line in lines:
                print(line)
            if not clean:
                failed.append(variant.description)
        if failed:
            print(f"helm lint --strict failed with: {', '.join(failed)}", file=sys.stderr)
            print(
                "helm-sdkpy reports only the file of each finding; `helm lint --strict` or "
                "`helm template` with the same values shows the message.",
                file=sys.stderr,
            )
            return 1
        print("helm lint --strict and render checks: clean")
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
