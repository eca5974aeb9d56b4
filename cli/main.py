"""The `certnet` command. The parser (`certnet.cli.parser`) names every command's function; only the one
that runs is imported, so `certnet --help` or an offline `certnet verify` loads no web3, eth-account, SQLAlchemy or
FastAPI. Errors are printed as one clear line naming what is wrong, with a non-zero exit code."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

from certnet import CertnetError
from certnet.cli.parser import build_parser

EXIT_USAGE = 2

#: errors printed as `certnet: <message>` with exit code 1, as (module, class): a command can only raise one whose
#: module it loaded, so they are looked up among the loaded modules, never imported for this
USER_ERRORS = (
    ("certnet.cli.documents", "DocumentInputError"),
    ("certnet.node.engines", "EngineError"),
    ("certnet.node.keys", "KeystoreError"),
)


class CliError(CertnetError):
    """A user-facing error: printed as `certnet: <message>` with exit code `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _user_errors() -> tuple[type[BaseException], ...]:
    loaded = [getattr(sys.modules[m], name) for m, name in USER_ERRORS if m in sys.modules]
    return (FileNotFoundError, *loaded)


def command(target: str) -> Callable[..., int]:
    """The function a "module:function" names (importing its module)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return command(args.run)(args)
    except CliError as exc:
        print(f"certnet: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if isinstance(exc, _user_errors()):
            print(f"certnet: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":  # python -m certnet.cli.main: run the module's own copy, whose CliError the commands raise
    from certnet.cli.main import main as _main

    sys.exit(_main())
