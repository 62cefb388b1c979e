#!/usr/bin/env python3
"""Checks deploy/k8s without a cluster: YAML syntax, and that the pieces fit.

    python3 deploy/k8s/check.py [AGGREGATOR_BIN]

- every document parses and has apiVersion, kind, metadata.name (and the namespace fanout);
- each Deployment's selector matches its pod labels, has resource requests and limits, and
  native gRPC readiness and liveness probes on a port the container declares, and a port named
  metrics that the pod's prometheus.io/scrape, /port and /path annotations point Prometheus at;
- each Service selects a Deployment's pods; feature Services are headless;
- the aggregator has 2+ replicas, a PodDisruptionBudget and its config in a ConfigMap, which is
  valid JSON whose every target is dns:///NAME.fanout.svc.cluster.local:PORT with round_robin,
  NAME a headless Service serving PORT; with AGGREGATOR_BIN, `aggregator --check-config` agrees.
Exit status 0 when all hold; the problems are printed otherwise.
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import yaml

HERE = pathlib.Path(__file__).resolve().parent
problems = []


def need(cond, what):
    if not cond:
        problems.append(what)
    return cond


def load():
    docs = []
    for path in sorted(HERE.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is None:
                continue
            name = f"{path.name}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
            if need(doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"),
                    f"{name}: apiVersion, kind and metadata.name are required"):
                docs.append((name, doc))
    kust = yaml.safe_load((HERE / "kustomization.yaml").read_text())
    listed = set(kust.get("resources", []))
    files = {p.name for p in HERE.glob("*.yaml")} - {"kustomization.yaml"}
    need(listed == files, f"kustomization.yaml lists {sorted(listed)}, the directory has {sorted(files)}")
    return docs


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def check_deployment(name, d):
    spec = d["spec"]
    pod = spec["template"]
    need(matches(spec["selector"]["matchLabels"], pod["metadata"]["labels"]),
         f"{name}: selector does not match pod labels")
    notes = pod["metadata"].get("annotations", {})
    metrics = [p["containerPort"] for c in pod["spec"]["containers"] for p in c.get("ports", [])
               if p.get("name") == "metrics"]
    need(notes.get("prometheus.io/scrape") == "true" and notes.get("prometheus.io/path") == "/metrics"
         and metrics and notes.get("prometheus.io/port") == str(metrics[0]),
         f"{name}: needs a port named metrics and the prometheus.io/scrape, /port and /path annotations for it")
    for c in pod["spec"]["containers"]:
        ports = {p["containerPort"] for p in c.get("ports", [])}
        res = c.get("resources", {})
        for kind in ("requests", "limits"):
            need(res.get(kind, {}).get("cpu") and res.get(kind, {}).get("memory"),
                 f"{name}: {kind} need cpu and memory")
        for probe in ("readinessProbe", "livenessProbe"):
            port = c.get(probe, {}).get("grpc", {}).get("port")
            need(port in ports,
                 f"{name}: {probe} must be a native grpc probe on a declared port, got {port}")


def main():
    docs = load()
    by_kind = {}
    for name, d in docs:
        need(d["metadata"].get("namespace") == "fanout" or d["kind"] == "Namespace",
             f"{name}: namespace must be fanout")
        by_kind.setdefault(d["kind"], []).append((name, d))
    deployments = {d["metadata"]["name"]: d for _, d in by_kind.get("Deployment", [])}
    services = {d["metadata"]["name"]: d for _, d in by_kind.get("Service", [])}
    for name, d in by_kind.get("Deployment", []):
        check_deployment(name, d)
    for name, s in by_kind.get("Service", []):
        pods = [d["spec"]["template"]["metadata"]["labels"] for d in deployments.values()]
        need(any(matches(s["spec"]["selector"], labels) for labels in pods), f"{name}: selects no Deployment's pods")

    agg = deployments.get("aggregator")
    if need(agg is not None, "no aggregator Deployment"):
        need(agg["spec"]["replicas"] >= 2, "aggregator: needs 2+ replicas")
        need("aggregator" in services and services["aggregator"]["spec"].get("clusterIP") != "None",
             "aggregator: needs a (non-headless) Service")
        need(any(matches(p["spec"]["selector"]["matchLabels"], agg["spec"]["template"]["metadata"]["labels"])
                 for _, p in by_kind.get("PodDisruptionBudget", [])), "aggregator: needs a PodDisruptionBudget")
    maps = {d["metadata"]["name"]: d for _, d in by_kind.get("ConfigMap", [])}
    cfg_text = maps.get("aggregator-config", {}).get("data", {}).get("aggregator.json")
    if need(cfg_text is not None, "no ConfigMap aggregator-config with aggregator.json"):
        cfg = json.loads(cfg_text)
        for f in cfg["features"]:
            m = re.fullmatch(r"dns:///([a-z0-9-]+)\.fanout\.svc\.cluster\.local:(\d+)", f["target"])
            if need(m, f"feature {f['name']}: target {f['target']} is not dns:///NAME.fanout.svc.cluster.local:PORT"):
                svc = services.get(m.group(1))
                need(svc is not None and svc["spec"].get("clusterIP") == "None",
                     f"feature {f['name']}: no headless Service {m.group(1)}")
                need(svc is not None and any(p["port"] == int(m.group(2)) for p in svc["spec"]["ports"]),
                     f"feature {f['name']}: Service {m.group(1)} does not serve port {m.group(2)}")
            need(f.get("lb") == "round_robin", f"feature {f['name']}: lb must be round_robin")
        if len(sys.argv) > 1:
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as tmp:
                tmp.write(cfg_text)
            try:
                r = subprocess.run([sys.argv[1], "--config", tmp.name, "--check-config"],
                                   capture_output=True, text=True)
                need(r.returncode == 0, f"aggregator --check-config: {r.stderr.strip()}")
            finally:
                os.unlink(tmp.name)

    n = len(docs)
    if problems:
        print("\n".join(f"deploy/k8s: {p}" for p in problems), file=sys.stderr)
        return 1
    print(f"deploy/k8s: {n} documents OK ({', '.join(f'{len(v)} {k}' for k, v in sorted(by_kind.items()))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
