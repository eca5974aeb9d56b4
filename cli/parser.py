"""The `certnet` command line's arguments: every command, its options and the function that runs it.

Building the parser imports no implementation (no web3, eth-account, SQLAlchemy, FastAPI, httpx): `certnet --help`
starts at once, and a command loads only what it runs — `COMMANDS` names each command's function as
"module:function", imported by `certnet.cli.main.main` once the arguments are parsed.
"""

from __future__ import annotations

import argparse
import os
import re

from certnet.node.contract_types import CHECK_REASONS, DECISION_REASONS, REVOCATION_REASONS
from certnet.node.options import LOCAL_PORT, add_network_parser

#: command -> "module:function" that runs it (the function takes the parsed arguments, returns the exit code)
COMMANDS: dict[str, str] = {
    "up": "certnet.cli.system:cmd_up",
    "down": "certnet.cli.system:cmd_down",
    "node": "certnet.cli.system:cmd_node",
    "deploy": "certnet.cli.system:cmd_deploy",
    "wrap": "certnet.cli.documents:cmd_wrap",
    "issue": "certnet.cli.documents:cmd_issue",
    "issue-bulk": "certnet.cli.documents:cmd_issue_bulk",
    "revoke": "certnet.cli.documents:cmd_revoke",
    "obfuscate": "certnet.cli.documents:cmd_obfuscate",
    "samples": "certnet.cli.documents:cmd_samples",
    "verify": "certnet.cli.documents:cmd_verify",
    "audit": "certnet.cli.service:cmd_audit",
    "serve": "certnet.cli.service:cmd_serve",
    "apikey": "certnet.cli.service:cmd_apikey",
    "key": "certnet.cli.keys:cmd_key",
    "bundle": "certnet.cli.bundles:cmd_bundle",
    "trust-root": "certnet.cli.bundles:cmd_trust_root",
    "decide": "certnet.cli.customs:cmd_decide_entry",
    "check": "certnet.cli.customs:cmd_check_entry",
    "network": "certnet.node.network.cli:cmd_network",
}

#: a keystore file being imported is decrypted with this passphrase (else the certnet passphrase)
IMPORT_PASSPHRASE_ENV = "CERTNET_IMPORT_PASSPHRASE"
#: document types of `--type` and their schema names
TYPE_NAMES = {"form-d": "FORM_D", "ephyto": "EPHYTO", "ecert": "ECERT"}

KEY_DESCRIPTION = """\
`certnet key create|list|import|fund`: the service's signing keys, in encrypted keystores in the data directory
(`<data dir>/keys/NAME.json`; the service signs with `*-issuer.json` and `*-admin.json`) or in an external
signer, Clef (the accounts listed in `<data dir>/signer.json`; Clef keeps the keys and asks its rules or its
operator before each signature). An account is in one place, never both.

Keystore passphrases come from $CERTNET_PASSPHRASE or $CERTNET_PASSPHRASE_FILE (the local demo: the data
directory's generated passphrase file), never from an argument; nothing secret is printed.
"""

DURATION = re.compile(r"^(\d+)\s*([smhd]?)$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """'90', '90s', '15m', '24h', '7d' -> seconds."""
    m = DURATION.match(text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 3600, 90m, 24h, 7d)")
    return int(m.group(1)) * UNITS[m.group(2)]


def _verify_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("--bundle", help="verify offline against this bundle (no network is read)")
    s.add_argument("--trust-root", help="with --bundle: the network's trust root (`certnet network trust-root`)")
    s.add_argument(
        "--max-age",
        type=parse_duration,
        default=24 * 3600,
        help="with --bundle: the oldest bundle block that may give VALID (default 24h)",
    )


def _customs_common(s: argparse.ArgumentParser) -> None:
    s.add_argument("--url", help="the certnet service (default $CERTNET_API_URL, else the local one)")
    s.add_argument("--api-key-file", help="file holding the API key (default $CERTNET_API_KEY)")
    s.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the service's answer")


def build_parser() -> argparse.ArgumentParser:
    """The whole `certnet` parser; each command's namespace carries `run`, its "module:function"."""
    p = argparse.ArgumentParser(prog="certnet", description="Verification network for trade e-certificates.")
    p.add_argument("--data-dir", help="data directory (default $CERTNET_HOME or .certnet in the project)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("up", help="bring up the local system: node, contracts, issuers, service, samples")
    s.add_argument("--port", type=int, default=LOCAL_PORT, help="JSON-RPC port of the local node")
    s.add_argument("--api-port", type=int, default=8000, help="port of the API service and portal")
    s.add_argument(
        "--api-workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="processes serving the API (default: up to 2, one per core)",
    )
    sub.add_parser("down", help="stop the local system (state is kept)")

    s = sub.add_parser("node", help="the local anvil node: up, down, status")
    s.add_argument("action", choices=["up", "down", "status"])
    s.add_argument("--port", type=int, default=LOCAL_PORT)

    s = sub.add_parser(
        "deploy", help="deploy the IssuerRegistry (document stores are created per authority) from a members config"
    )
    s.add_argument("--config", required=True, help="JSON file: {name, members: [{country, admins: [...]}]}")
    s.add_argument("--rpc", help="JSON-RPC URL (default: the local node)")
    s.add_argument("--keystore", help="deployer's encrypted keystore (not needed on the local node)")
    s.add_argument("--passphrase-file", help="file holding the keystore passphrase (else $CERTNET_PASSPHRASE)")
    s.add_argument("--out", help="where to write the deployment (default <data dir>/deployment.json)")

    _document_parsers(sub)
    _service_parsers(sub)
    _key_parsers(sub)
    _bundle_parsers(sub)
    _customs_parsers(sub)
    add_network_parser(sub)
    for name, target in COMMANDS.items():
        sub.choices[name].set_defaults(run=target)
    return p


def _document_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("wrap", help="wrap JSON documents into one OpenAttestation v2 batch (no anchoring)")
    s.add_argument("sources", nargs="+", metavar="SRC", help="JSON files or directories")
    s.add_argument("--out", required=True, help="directory for the wrapped documents (same file names)")
    s.add_argument("--type", choices=sorted(TYPE_NAMES), help="validate against this schema first")

    def chain_opts(p: argparse.ArgumentParser) -> None:
        p.add_argument("--rpc", help="JSON-RPC URL (default: the deployment's)")
        p.add_argument("--deployment", help="deployment.json (default: <data dir>/deployment.json)")

    def issuer_opts(p: argparse.ArgumentParser, outbox: bool = True) -> None:
        chain_opts(p)
        p.add_argument("--keystore", help="the signing keystore (default: the local demo issuer)")
        if outbox:
            p.add_argument("--db", help="outbox database URL (default: sqlite in the data dir)")

    s = sub.add_parser("issue", help="wrap and anchor documents through the durable outbox")
    s.add_argument("sources", nargs="+", metavar="SRC")
    s.add_argument("--out", required=True)
    s.add_argument("--type", choices=sorted(TYPE_NAMES))
    s.add_argument("--max-batch", type=int, default=10_000)
    issuer_opts(s)

    s = sub.add_parser(
        "issue-bulk",
        help="wrap and anchor an NDJSON file in batches, streamed (crash-safe by its "
        "output directory: run again to finish an interrupted run)",
    )
    s.add_argument("source", metavar="NDJSON", help="one JSON document per line")
    s.add_argument("--out", required=True, help="directory for batch-<n>-<root>.ndjson files")
    s.add_argument("--batch", type=int, default=10_000, help="documents per anchored batch (default 10,000)")
    s.add_argument("--type", choices=sorted(TYPE_NAMES), help="validate against this schema first")
    issuer_opts(s, outbox=False)

    s = sub.add_parser("revoke", help="revoke a wrapped document (or its whole batch) with a reason")
    s.add_argument("file")
    s.add_argument("--reason", default="UNSPECIFIED")
    s.add_argument("--whole-batch", action="store_true")
    s.add_argument("--key-name", default="vn-issuer", help="local keystore name when --keystore is not given")
    issuer_opts(s)

    s = sub.add_parser("obfuscate", help="hide fields of a wrapped document (selective disclosure)")
    s.add_argument("file")
    s.add_argument("paths", nargs="+", metavar="PATH", help="dotted paths, e.g. consignee.address goods.0.fobValue")
    s.add_argument("--out", required=True)

    s = sub.add_parser("samples", help="write realistic sample documents")
    s.add_argument("--type", choices=sorted(TYPE_NAMES), default="form-d")
    s.add_argument("--count", type=int, default=10)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--country", default="VN", help="issuing country")
    s.add_argument("--issuer-name", default="Vietnam Chamber of Commerce and Industry (VCCI) HCMC")
    s.add_argument(
        "--store",
        help="the issuing authority's document store to name in issuers[0]; by default, with a "
        "deployment, documents carry no issuers block and the issuing service fills it in",
    )
    s.add_argument("--out", required=True, help="a directory (one file per document) or FILE.ndjson (one per line)")

    s = sub.add_parser("verify", help="verify wrapped documents (files, directories, or - for stdin)")
    s.add_argument("sources", nargs="+", metavar="FILE|DIR|-")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--offline", action="store_true", help="integrity and signature only; read no network")
    s.add_argument("--confirmations", type=int, default=0)
    s.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        help="seconds the node may take to answer, in all, before the verdict is ERROR (default 5)",
    )
    chain_opts(s)
    _verify_options(s)


def _service_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("audit", help="re-check an audit export against any node")
    s.add_argument("action", choices=["check"])
    s.add_argument("export", help="the NDJSON file from GET /v1/audit/export")
    s.add_argument("--rpc", required=True, help="JSON-RPC URL of any node of the network")

    s = sub.add_parser("serve", help="run the API service and portal (issuance, index, notifications)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--rpc", help="JSON-RPC URL (default: the deployment's)")
    s.add_argument("--db", help="database URL (default: sqlite in the data dir, or $CERTNET_DB_URL)")
    s.add_argument(
        "--confirmations",
        type=int,
        default=0,
        help="blocks a transaction must be deep before it counts (Clique: at least half the validators)",
    )
    s.add_argument(
        "--reconcile-interval",
        type=float,
        default=30.0,
        help="seconds between checks that recently anchored batches are still on the chain (a node "
        "that lost blocks or a reorg is noticed at once)",
    )
    s.add_argument("--reconcile-window", type=int, default=5000, help="how many blocks back the periodic check goes")
    s.add_argument(
        "--no-workers",
        action="store_true",
        help="serve only: never run the issuance, index or notification workers (API replicas); "
        "without it, the processes of every `certnet serve` on the database elect one to run them",
    )
    s.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes serving requests (default 1; use the machine's cores for bulk verification); "
        "the background workers run in the one elected through the database",
    )
    s.add_argument(
        "--verify-timeout",
        dest="verify_timeout",
        type=float,
        help="seconds a verification may wait for the node, in all, before its verdict is ERROR (default 5)",
    )
    s.add_argument(
        "--rpc-timeout",
        dest="rpc_timeout",
        type=float,
        help="seconds one JSON-RPC request of the background workers may take (default 30)",
    )
    s.add_argument(
        "--index-max-lag-blocks",
        dest="index_max_lag_blocks",
        type=int,
        help="index mode answers only while the index is at most this many blocks behind the confirmed "
        "head (default 20)",
    )
    s.add_argument(
        "--index-max-age",
        dest="index_max_age",
        type=float,
        help="... and its last completed sync is at most this many seconds old (default 30)",
    )
    s.add_argument(
        "--stale-index",
        dest="stale_index",
        choices=["chain", "error"],
        help="beyond those bounds index mode reads the chain (default) or answers ERROR",
    )
    s.add_argument(
        "--public-url",
        help="the service's public base URL, for the links printed in QR codes (default: "
        "$CERTNET_PUBLIC_URL, else http://HOST:PORT as listened on; never the "
        "requests' Host header)",
    )
    s.add_argument(
        "--trusted-proxy-header",
        metavar="NAME",
        help="take the client address for per-address limits from this header (e.g. X-Forwarded-For: its "
        "last address), when the connection comes from a --trusted-proxy; default: the socket peer",
    )
    s.add_argument(
        "--trusted-proxy",
        action="append",
        metavar="ADDR[/BITS]",
        help="address or network of the reverse proxy (repeatable; default 127.0.0.1 and ::1)",
    )
    s.add_argument(
        "--webhook-allow",
        action="append",
        default=[],
        metavar="ADDR[/BITS]",
        help="let webhooks reach this address or network although it is loopback, private, link-local... "
        "(repeatable; default none: public addresses only)",
    )
    s.add_argument("--max-subscriptions", type=int, default=20, help="active webhooks per API key (default 20)")
    s.add_argument(
        "--max-json-depth",
        type=int,
        default=64,
        help="arrays and objects nested in a request body or an uploaded document (default 64)",
    )

    s = sub.add_parser("apikey", help="create, list or revoke API keys")
    s.add_argument("action", choices=["create", "list", "revoke"])
    s.add_argument("--role", choices=["issuer", "customs", "auditor", "admin"])
    s.add_argument("--country", help="ISO 3166-1 alpha-2 code the key is scoped to")
    s.add_argument("--issuer-account", help="for issuer keys: the issuer's 0x address")
    s.add_argument("--name", default="api key")
    s.add_argument("--id", type=int, help="for revoke")
    s.add_argument("--db")


def _key_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "key",
        help="signing keys: create, list, import, fund (keystores here, or accounts in Clef)",
        description=KEY_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ks = p.add_subparsers(dest="key_action", required=True, metavar="ACTION")

    def clef_opts(s: argparse.ArgumentParser) -> None:
        s.add_argument(
            "--role",
            choices=["issuer", "admin"],
            help="what the service signs with the account in Clef (default: from the name's suffix)",
        )

    s = ks.add_parser(
        "create",
        help="a new key: an encrypted keystore <data dir>/keys/NAME.json, or (--clef) an "
        "account in Clef, created by account_new and confirmed by Clef's operator",
    )
    s.add_argument("name", help="e.g. vn-issuer, th-admin (the service signs with *-issuer and *-admin keys)")
    s.add_argument("--clef", metavar="URL", help="Clef's endpoint: http://127.0.0.1:8550 or its IPC socket path")
    clef_opts(s)

    s = ks.add_parser("list", help="keystores in the data directory and accounts in Clef (signer.json)")
    s.add_argument(
        "--ask-clef",
        action="store_true",
        help="also ask Clef (account_list; its rules or operator approve) which accounts it holds",
    )
    s.add_argument("--json", action="store_true")

    s = ks.add_parser(
        "import",
        help="an existing key (encrypted keystore, or a file holding a hex private key) "
        "into the data directory, or (--clef-keystore) a keystore into Clef's",
    )
    s.add_argument("source", help="keystore JSON (Web3 Secret Storage v3) or a file with 64 hex digits")
    s.add_argument("--name", required=True, help="the key's name here, e.g. vn-issuer")
    s.add_argument(
        "--source-passphrase-file",
        help=f"the source keystore's passphrase (else ${IMPORT_PASSPHRASE_ENV}, else the certnet passphrase)",
    )
    s.add_argument("--clef-keystore", metavar="DIR", help="Clef's keystore directory (the file is copied as it is)")
    s.add_argument("--clef", metavar="URL", help="Clef's endpoint, when signer.json does not name it yet")
    clef_opts(s)

    s = ks.add_parser(
        "fund",
        help="send ether to an account: from a consortium network's deployer (--network DIR), "
        "from a keystore (--rpc URL --keystore FILE), or on the local node",
    )
    s.add_argument("address")
    s.add_argument("--ether", required=True, help="amount in ether, e.g. 10 or 0.5")
    s.add_argument("--network", metavar="DIR", help="a network directory of `certnet network init` (its deployer)")
    s.add_argument("--node", type=int, default=0, help="with --network: the node to send through (default 0)")
    s.add_argument("--rpc", help="JSON-RPC URL (default: the network's node, or the local node)")
    s.add_argument("--keystore", help="the funding account's keystore (passphrase from $CERTNET_PASSPHRASE[_FILE])")
    s.add_argument("--passphrase-file", help="with --keystore: file holding its passphrase")


def _bundle_parsers(sub: argparse._SubParsersAction) -> None:
    def chain_opts(p: argparse.ArgumentParser) -> None:
        p.add_argument("--rpc", help="JSON-RPC URL of any node of the network (default: the deployment's)")
        p.add_argument("--deployment", help="deployment.json (default: <data dir>/deployment.json)")

    s = sub.add_parser(
        "bundle",
        help="make a bundle that proves documents' status offline (headers sealed by the "
        "validators and state proofs), from any node",
    )
    s.add_argument("sources", nargs="+", metavar="FILE|DIR", help="wrapped documents")
    s.add_argument("--out", help="bundle file (default: standard output)")
    s.add_argument(
        "--block",
        type=int,
        help="prove the state at this block (default: the latest a majority of validators has sealed over)",
    )
    chain_opts(s)
    s = sub.add_parser(
        "trust-root",
        help="write the network's trust root as a node gives it (to pin for offline "
        "verification; `certnet network trust-root DIR` computes it from files)",
    )
    s.add_argument("--out", help="file to write (default: standard output)")
    chain_opts(s)


def _customs_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("decide", help="record (or amend) the customs decision on a received certificate")
    s.add_argument("document", nargs="?", help="the wrapped document (it must be in the customs' inbox)")
    s.add_argument("--inbox", type=int, help="the certificate's inbox id instead of the document")
    s.add_argument("--preference", required=True, choices=["GIVEN", "NOT_GIVEN"])
    s.add_argument("--reason", choices=list(DECISION_REASONS), help="Form D box 4 reason (for NOT_GIVEN)")
    s.add_argument("--note", help="a note kept by the service (its hash goes on chain)")
    _customs_common(s)

    s = sub.add_parser("check", help="retroactive checks: open, answer, close, list")
    s.add_argument("action", choices=["open", "answer", "close", "list"])
    s.add_argument("target", nargs="?", help="open: the wrapped document; answer/close: the check id")
    s.add_argument("--inbox", type=int, help="open: the certificate's inbox id instead of the document")
    s.add_argument("--reason", choices=list(CHECK_REASONS), help="open: why the check is asked for")
    s.add_argument("--question", action="append", help="open: a question to the issuing country (repeatable)")
    s.add_argument("--attach", action="append", help="open: a file whose SHA-256 goes with the request (repeatable)")
    s.add_argument("--result", choices=["CONFIRMED", "NOT_CONFIRMED"], help="answer: the result")
    s.add_argument("--findings", help="answer: the findings")
    s.add_argument("--revoke", choices=list(REVOCATION_REASONS), help="answer: revoke the certificate first")
    s.add_argument("--supersede", type=int, help="answer: supersede it first by this outbox document")
    s.add_argument(
        "--state",
        default="open",
        choices=["open", "overdue", "answered", "closed", "all"],
        help="list: which checks (default open)",
    )
    s.add_argument("--limit", type=int, default=100)
    s.add_argument("--json", action="store_true", help="list: JSON instead of one line per check")
    _customs_common(s)
