#!/usr/bin/env python3
"""Lints the Helm chart with real Helm, in strict mode, once per values variant.

    python3 helm/lint.py [CHART_DIR]        (default: the rapport chart beside this file)

Helm comes from the PyPI package helm-sdkpy, which embeds Helm 4 as a library, so no helm
binary and no cluster are needed. Install it with PyYAML into a virtual environment first:

    pip install --ignore-requires-python helm-sdkpy cffi pyyaml

The variants are the chart's default values, then, for each service in values.yaml, every
service disabled but that one, then one turning on the optional parts (autoscaling, existing
Secrets, a public key, network policy peers, no migration hook), so that every template is
rendered at least once (the ServiceMonitor only where the cluster has its CRD, so not here).

Strict mode as in `helm lint --strict`: any WARNING or ERROR fails the run (INFO does not).
helm-sdkpy's Lint takes no values and no strict flag, so each variant is linted as a copy of
the chart whose values.yaml is the defaults merged with the variant, and the strictness is
applied here to the severities Helm reports. Helm renders every template while linting and
reports what does not parse as YAML or breaks a rule; the text of a message does not survive
helm-sdkpy's JSON (only its severity and file do), but Helm's own log lines on stderr often say
more. helm-sdkpy has no template or dry-run action that works without a cluster, so the
rendered manifests themselves are not checked here.

Exit status: 0 when every variant is clean, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
import sys
import tempfile
from pathlib import Path

SEVERITIES = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}
# helm lint --strict fails on warnings and errors.
STRICT_LOWEST = 2


def merge(base: dict, override: dict) -> dict:
    """Deep merge of values, as Helm coalesces them: maps merge, the rest is replaced."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def variants(defaults: dict) -> list[tuple[str, dict]]:
    """(description, values override) pairs to lint."""
    services = sorted(defaults.get("services", {}))
    # The chart refuses to install without a database and a Redis; lint mode only logs that
    # (Helm's "funcMap fail" INFO lines for the default values). The other variants give both.
    connections = {
        "postgresql": {"url": "postgres://rapport:secret@postgresql:5432/rapport"},
        "redis": {"url": "redis://redis:6379/0"},
    }
    out: list[tuple[str, dict]] = [("default values", {})]
    for only in services:
        out.append(
            (
                f"only {only} enabled",
                merge(
                    connections,
                    {"services": {name: {"enabled": name == only} for name in services}},
                ),
            )
        )
    out.append(
        (
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
                    }
                    for name in services
                },
                "peers": {"orders": "http://orders.example:50051"},
                "postgresql": {"existingSecret": "rapport-database"},
                "redis": {"existingSecret": "rapport-redis"},
                "auth": {"publicKey": {"existingSecret": "rapport-issuer"}},
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
    return out


def message_text(err: object) -> str:
    """What helm-sdkpy kept of a lint message's error (usually nothing: Go errors marshal to {})."""
    if err in (None, {}, ""):
        return ""
    return err if isinstance(err, str) else json.dumps(err)


def lint_variant(
    helm, config, chart: Path, values: dict | None, workdir: Path
) -> tuple[bool, list[str]]:
    """Lints the chart, or a copy of it with these values; (clean, printable messages)."""
    import yaml

    target = chart
    if values is not None:
        target = workdir / chart.name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(chart, target)
        (target / "values.yaml").write_text(yaml.safe_dump(values, sort_keys=False))

    result = asyncio.run(helm.Lint(config).run(str(target)))
    lines = []
    clean = True
    for msg in result.get("Messages") or []:
        severity = int(msg.get("Severity", 0))
        name = SEVERITIES.get(severity, str(severity))
        text = message_text(msg.get("Err"))
        lines.append(f"  [{name}] {msg.get('Path', '')}{': ' + text if text else ''}")
        if severity >= STRICT_LOWEST:
            clean = False
    if result.get("Errors"):
        clean = False
    if int(result.get("TotalChartsLinted", 0)) != 1:
        lines.append(
            f"  [ERROR] expected 1 chart linted, Helm linted {result.get('TotalChartsLinted')}"
        )
        clean = False
    return clean, lines


def main(argv: list[str]) -> int:
    # Keep this script's lines in order with Helm's own log lines on stderr.
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
        config = helm.Configuration()
        print(f"helm-sdkpy {helm.__version__}: helm lint --strict {chart.name}")
        print(
            "(with the default values Helm logs the chart's install-time checks, such as the "
            "missing database URL, as 'funcMap fail' INFO lines: lint mode reports them and "
            "goes on)"
        )
        failed = []
        for description, override in variants(defaults):
            values = merge(defaults, override) if override else None
            clean, lines = lint_variant(helm, config, chart, values, workdir)
            print(f"{'ok  ' if clean else 'FAIL'} {chart.name} with {description}")
            for line in lines:
                print(line)
            if not clean:
                failed.append(description)
        if failed:
            print(f"helm lint --strict failed with: {', '.join(failed)}", file=sys.stderr)
            print(
                "helm-sdkpy reports only the file of each finding; `helm lint --strict` or "
                "`helm template` with the same values shows the message.",
                file=sys.stderr,
            )
            return 1
        print("helm lint --strict: clean")
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
