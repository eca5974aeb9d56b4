"""`certnet decide` and `certnet check open|answer|close|list`: customs decisions and retroactive checks through a
running certnet service (its API, with an API key), for operators who script.

The service is `--url`, else $CERTNET_API_URL, else the local one (`certnet up`); the key is read from
`--api-key-file`, else $CERTNET_API_KEY (never from the command line, where other users of the machine could read it).
Each command prints the service's answer as JSON on stdout; a refusal prints the problem's code and detail on stderr
and exits with 1 (4 when the service cannot be reached).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx

from certnet import CertnetError
from certnet.node.paths import data_dir

EXIT_REFUSED = 1
EXIT_UNREACHABLE = 4


class CustomsCliError(CertnetError):
    """A user-facing error of these commands: printed as one line, exit code `code`."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _home(args: argparse.Namespace) -> Path:
    return Path(args.data_dir) if getattr(args, "data_dir", None) else data_dir()


def _url(args: argparse.Namespace) -> str:
    if args.url:
        return args.url.rstrip("/")
    if os.environ.get("CERTNET_API_URL"):
        return os.environ["CERTNET_API_URL"].rstrip("/")
    f = _home(args) / "service.json"
    if f.is_file():
        return json.loads(f.read_text())["url"]
    raise CustomsCliError("no service: pass --url or set CERTNET_API_URL (or start the local one with `certnet up`)")


def _key(args: argparse.Namespace) -> str:
    if args.api_key_file:
        p = Path(args.api_key_file)
        if not p.is_file():
            raise CustomsCliError(f"--api-key-file {p}: no such file")
        return p.read_text().strip()
    if os.environ.get("CERTNET_API_KEY"):
        return os.environ["CERTNET_API_KEY"].strip()
    raise CustomsCliError("no API key: pass --api-key-file FILE or set CERTNET_API_KEY")


def _call(
    args: argparse.Namespace, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None
) -> Any:
    url = _url(args)
    try:
        r = httpx.request(
            method,
            url + path,
            json=body,
            params=params,
            timeout=args.timeout,
            headers={"authorization": f"Bearer {_key(args)}"},
        )
    except httpx.HTTPError as exc:
        raise CustomsCliError(f"cannot reach the service at {url}: {exc}", EXIT_UNREACHABLE) from None
    if r.status_code >= 400:
        try:
            p = r.json()
            message = f"{p.get('code', r.status_code)}: {p.get('detail', r.text)}"
        except ValueError:
            message = f"HTTP {r.status_code}: {r.text[:200]}"
        raise CustomsCliError(f"refused ({r.status_code}) {message}", EXIT_REFUSED)
    return r.json()


def _certificate(args: argparse.Namespace) -> dict[str, Any]:
    if (args.document is None) == (args.inbox is None):
        raise CustomsCliError("name the certificate: a wrapped document FILE or --inbox ID (one of them)")
    if args.inbox is not None:
        return {"inboxId": args.inbox}
    p = Path(args.document)
    if not p.is_file():
        raise CustomsCliError(f"{p}: no such file")
    try:
        return {"document": json.loads(p.read_bytes())}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CustomsCliError(f"{p}: not a JSON document ({exc})") from None


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def cmd_decide(args: argparse.Namespace) -> int:
    reason = args.reason or ("NONE" if args.preference == "GIVEN" else None)
    if reason is None:
        raise CustomsCliError("--reason is required when preference is NOT_GIVEN")
    _print(
        _call(
            args,
            "POST",
            "/v1/decisions",
            {"certificate": _certificate(args), "preference": args.preference, "reason": reason, "note": args.note},
        )
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    if args.action == "open":
        attachments = []
        for f in args.attach or []:
            p = Path(f)
            if not p.is_file():
                raise CustomsCliError(f"--attach {p}: no such file")
            attachments.append({"name": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()})
        if not args.question:
            raise CustomsCliError("ask at least one --question")
        _print(
            _call(
                args,
                "POST",
                "/v1/checks",
                {
                    "certificate": _certificate(args),
                    "reason": args.reason,
                    "questions": args.question,
                    "attachments": attachments,
                },
            )
        )
    elif args.action == "answer":
        body: dict[str, Any] = {"result": args.result, "findings": args.findings}
        if args.revoke and args.supersede:
            raise CustomsCliError("--revoke or --supersede, not both")
        if args.revoke:
            body["revoke"] = {"reason": args.revoke}
        if args.supersede:
            body["supersede"] = {"successorId": args.supersede}
        _print(_call(args, "POST", f"/v1/checks/{args.id}/answer", body))
    elif args.action == "close":
        _print(_call(args, "POST", f"/v1/checks/{args.id}/close"))
    else:
        checks = _call(args, "GET", "/v1/checks", params={"state": args.state, "limit": args.limit})
        if args.json:
            _print(checks)
        else:
            for c in checks:
                cert = c["certificate"]
                print(
                    f"{c['id']}\t{c['state']}{' OVERDUE' if c['overdue'] else ''}\t{cert.get('issuingCountry')}->"
                    f"{cert.get('importingCountry')}\t{cert.get('referenceNumber') or cert['targetHash']}\t"
                    f"due {c['dueAt']}\t{c['result'] or '-'}{' (late)' if c['late'] else ''}"
                )
    return 0


def _check_entry(args: argparse.Namespace) -> int:
    args.document = args.target if args.action == "open" else None
    if args.action in ("answer", "close"):
        if not args.target or not args.target.isdigit():
            raise CustomsCliError(f"check {args.action} needs the check id")
        args.id = int(args.target)
        if args.action == "answer" and (not args.result or not args.findings):
            raise CustomsCliError("check answer needs --result and --findings")
    if args.action == "open" and not args.reason:
        raise CustomsCliError("check open needs --reason")
    return cmd_check(args)


def run(fn: Any, args: argparse.Namespace) -> int:
    try:
        return fn(args)
    except CustomsCliError as exc:
        print(f"certnet: {exc}", file=sys.stderr)
        return exc.code


def cmd_decide_entry(args: argparse.Namespace) -> int:
    return run(cmd_decide, args)


def cmd_check_entry(args: argparse.Namespace) -> int:
    return run(_check_entry, args)
