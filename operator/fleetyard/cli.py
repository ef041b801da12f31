"""The `fleetyard` command: operator, webhooks, api, crds, webhook-rules, and the local environment (dev up/down/env/restart)."""

from __future__ import annotations

import argparse
import pathlib
import sys


def _generate(out: pathlib.Path, files: dict[str, str], check: bool, what: str, command: str) -> int:
    """Write generated `files` (name -> text) under `out`, or with `check` list those that differ."""
    if check:
        stale = [name for name, text in files.items()
                 if not (out / name).exists() or (out / name).read_text() != text]
        if stale:
            print(f"{what} in {out} differ from the code: {', '.join(stale)}; run `fleetyard {command}`",
                  file=sys.stderr)
            return 1
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text)
        print(out / name)
    return 0


def _crds(args: argparse.Namespace) -> int:
    from fleetyard import crdgen

    return _generate(pathlib.Path(args.out), {crdgen.file_name(d): crdgen.render(d) for d in crdgen.all_crds()},
                     args.check, "CRDs", "crds")


def _without_asyncio_client() -> None:
    """Kopf imports kubernetes_asyncio (the REST API's client) only to recognise its model objects,
    which the operator and the webhooks never hand it; its model classes are ~25 MiB of their memory."""
    sys.modules.setdefault("kubernetes_asyncio", None)  # type: ignore[arg-type]


def _operator(_: argparse.Namespace) -> int:
    _without_asyncio_client()
    from fleetyard import operator_app, settings

    operator_app.run(settings.Settings.from_env())
    return 0


def _webhooks(_: argparse.Namespace) -> int:
    _without_asyncio_client()
    from fleetyard import settings, webhooks_app

    webhooks_app.run(settings.Settings.from_env())
    return 0


def _webhook_rules(args: argparse.Namespace) -> int:
    from fleetyard import webhooks_app

    out = pathlib.Path(args.out)
    return _generate(out.parent, {out.name: webhooks_app.render_rules()}, args.check, "webhook rules",
                     "webhook-rules")


def _api(_: argparse.Namespace) -> int:
    from fleetyard import settings
    from fleetyard.rest import main

    main.run(settings.Settings.from_env())
    return 0


def _dev(args: argparse.Namespace) -> int:
    from fleetyard.devenv import up

    state = pathlib.Path(args.state_dir)
    if args.dev_command == "up":
        return up.up(state, detach=args.detach)
    if args.dev_command == "down":
        return up.down(state)
    if args.dev_command == "restart":
        return up.restart(state, args.component)
    return up.print_env(state)


def _docs(args: argparse.Namespace) -> int:
    from fleetyard import docsgen

    return _generate(pathlib.Path(args.out), docsgen.render_all(), args.check, "docs", "docs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fleetyard")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("operator", help="run the Kopf operator (reconcilers, /healthz, /metrics)").set_defaults(
        fn=_operator)
    sub.add_parser("webhooks", help="serve the admission webhooks (every replica answers; no peering)").set_defaults(
        fn=_webhooks)
    rules = sub.add_parser("webhook-rules", help="generate the chart's webhook list from the admission handlers")
    rules.add_argument("--out", default="charts/fleetyard/files/webhooks.yaml")
    rules.add_argument("--check", action="store_true", help="fail if the file differs from the handlers")
    rules.set_defaults(fn=_webhook_rules)
    sub.add_parser("api", help="serve the REST API (the seed's endpoints) on FLEETYARD_API_HOST:PORT").set_defaults(
        fn=_api)
    crds = sub.add_parser("crds", help="generate crds/*.yaml from the models")
    crds.add_argument("--out", default="crds")
    crds.add_argument("--check", action="store_true", help="fail if the files differ from the models")
    crds.set_defaults(fn=_crds)
    docs = sub.add_parser("docs", help="generate docs/rest-api.md, docs/openapi.json, docs/crd-reference.md")
    docs.add_argument("--out", default="docs")
    docs.add_argument("--check", action="store_true", help="fail if the files differ from the code")
    docs.set_defaults(fn=_docs)
    dev = sub.add_parser("dev", help="the local environment")
    dev.add_argument("--state-dir", default=".fleetyard/dev")
    dev_sub = dev.add_subparsers(dest="dev_command", required=True)
    dev_up = dev_sub.add_parser("up", help="start control plane, moto and the operator; apply examples/")
    dev_up.add_argument("--detach", action="store_true", help="return once the samples are applied")
    dev_sub.add_parser("down", help="stop what `dev up --detach` started")
    dev_sub.add_parser("env", help="print export lines for KUBECONFIG and the AWS endpoint")
    dev_restart = dev_sub.add_parser("restart", help="restart one process of the running environment")
    dev_restart.add_argument("component", choices=["operator", "webhooks", "api"])
    dev.set_defaults(fn=_dev)
    from fleetyard import onboarding  # `fleetyard connection template|manifest`

    onboarding.register(sub)
    args = parser.parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
