"""``phivault``: init, demo, serve, db, audit and keys commands.

Every command honours PHIVAULT_HOME and PHIVAULT_DATABASE_URL. Errors are printed as one
readable line and exit non-zero; no PHI, secret or key is ever printed except the one-time
credentials of a newly created account.
"""

from __future__ import annotations

import functools
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer
from rich.console import Console

from phivault.errors import PhivaultError
from phivault.transport import Listener, check_listener, uvicorn_options

if TYPE_CHECKING:
    import uvicorn

    from phivault.config import Settings
    from phivault.vault import Vault

# Heavy modules (the database layer, settings, the web server) are imported by the commands
# that use them, not here: `phivault --help` and a mistyped option answer at once.

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit trail.")
keys_app = typer.Typer(no_args_is_help=True, help="Encryption keys.")
user_app = typer.Typer(no_args_is_help=True, help="Workforce accounts (operator).")
sessions_app = typer.Typer(no_args_is_help=True, help="Signed-in sessions (operator).")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(user_app, name="user")
app.add_typer(sessions_app, name="sessions")

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


Command = TypeVar("Command", bound=Callable[..., None])


def readable_errors(code: int = 1) -> Callable[[Command], Command]:
    """One readable line instead of a traceback. Database and unexpected errors are named by
    type only: their messages can quote SQL parameters, i.e. ciphertexts or PHI."""

    def decorate(command: Command) -> Command:
        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> None:
            try:
                command(*args, **kwargs)
            except (typer.Exit, typer.Abort, KeyboardInterrupt):
                raise
            except PhivaultError as exc:
                raise fail(exc.detail, code) from None
            except Exception as exc:
                raise fail(_one_line(exc), code) from None

        return cast(Command, run)

    return decorate


def _one_line(exc: Exception) -> str:
    """The readable line for an unexpected failure, naming no value from it."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, SQLAlchemyError):
        return (
            f"database error ({type(exc).__name__}): check PHIVAULT_DATABASE_URL, that "
            "the server is up and that the schema is current ('phivault db upgrade')"
        )
    if isinstance(exc, OSError):
        return f"{exc.strerror or type(exc).__name__}: {exc.filename or ''}"
    return f"unexpected {type(exc).__name__}; its details were not printed"


def load_settings() -> Settings:
    """The installation's settings (PHIVAULT_HOME, PHIVAULT_DATABASE_URL, …)."""
    from phivault.config import load_settings as load

    return load()


@app.command()
@readable_errors()
def init(
    tenant_name: Annotated[str, typer.Option(help="The first tenant (agency) name")] = "My Agency",
    tenant_slug: Annotated[str, typer.Option(help="Short unique tenant name")] = "my-agency",
    username: Annotated[
        str, typer.Option(help="The first privacy officer's login")
    ] = "privacy.officer",
    display_name: Annotated[str, typer.Option(help="Their name")] = "Privacy Officer",
) -> None:
    """Create the database, keys, the first tenant and its privacy officer."""
    from phivault.bootstrap import initialize

    settings = load_settings()
    _, first = initialize(
        settings,
        tenant_name=tenant_name,
        tenant_slug=tenant_slug,
        username=username,
        display_name=display_name,
    )
    out.print(f"Initialised phivault in [bold]{settings.home}[/]")
    out.print(f"Tenant [bold]{first.tenant.name}[/] ({first.tenant.id})")
    out.print(f"Privacy officer login: [bold]{first.username}[/]")
    out.print("Initial password (shown once; change it at first sign-in, then enrol MFA):")
    out.print(first.initial_password, soft_wrap=True, highlight=False)


@app.command()
@readable_errors()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve when built")
    ] = True,
    patients: Annotated[
        int, typer.Option(min=1, max=100_000, help="Fabricated patients per tenant")
    ] = 100,
    days: Annotated[
        int, typer.Option(min=1, max=3650, help="Days of fabricated activity before today")
    ] = 90,
    host: str = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on (make demo: PORT=8001)")] = 8000,
) -> None:
    """Build a vault of fabricated data (two tenants, 90 days of activity unless --days says
    otherwise) and serve it."""
    from phivault.demo import build_demo

    if serve_after:
        if not port_is_free(host, port):
            raise fail(
                f"port {port} is already in use; pick another: PORT={port + 1} make demo "
                f"(or phivault demo --port {port + 1})"
            )
        out.print(
            f"Building the demo vault; it will be served on port {port} "
            f"(another port: PORT={port + 1} make demo).",
            highlight=False,
        )
    settings = load_settings()
    summary = build_demo(settings, patients_per_tenant=patients, history_days=days, progress=out)
    out.print(f"\nDemo vault ready in [bold]{settings.home}[/] (all data fabricated).")
    for line in summary.login_lines():
        out.print(line, soft_wrap=True, highlight=False)
    if serve_after:
        # Passkeys need a host name: browsers refuse an IP address as a WebAuthn party.
        shown = "localhost" if host in ("127.0.0.1", "::1") else host
        out.print("\nStarting the server…")
        _serve(
            Listener(host, port),
            ready=f"Ready: sign in at http://{shown}:{port}/login with an account above "
            "(API docs at /docs); Ctrl-C stops.",
        )


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (checked before a long build)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def announcing_server(config: uvicorn.Config, ready: str | None) -> uvicorn.Server:
    """A uvicorn server that prints ``ready`` once, when it listens (not before: a line
    printed before the bind would be a promise the server may not keep)."""

    import uvicorn

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and ready:
                out.print(ready, soft_wrap=True, highlight=False)

    return Announcing(config)


def _serve(listener: Listener, ready: str | None = None) -> None:
    import uvicorn

    from phivault.api.app import create_app
    from phivault.bootstrap import open_vault
    from phivault.records.blobs import BlobStore

    check_listener(listener)
    vault = open_vault(load_settings())
    swept = BlobStore(vault.settings.blob_dir).sweep_partials()
    if swept:
        # A count, never a name: file names are document ids.
        err.print(f"Removed {swept} unfinished upload file(s) left by an earlier process.")
    config = uvicorn.Config(create_app(vault), **uvicorn_options(listener))  # type: ignore[arg-type]
    announcing_server(config, ready).run()


@app.command()
@readable_errors()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate chain")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key")] = None,
    behind_tls_proxy: Annotated[
        bool, typer.Option(help="A TLS-terminating proxy forwards to this address")
    ] = False,
    proxy_addresses: Annotated[
        str, typer.Option(help="Addresses of that proxy (trusted for X-Forwarded-*)")
    ] = "127.0.0.1",
) -> None:
    """Serve the API. Off loopback it needs TLS, or --behind-tls-proxy."""
    _serve(Listener(host, port, tls_cert, tls_key, behind_tls_proxy, proxy_addresses))


@db_app.command("upgrade")
@readable_errors()
def db_upgrade() -> None:
    """Apply database migrations."""
    from phivault.bootstrap import migrate_database

    migrate_database(load_settings())
    out.print("Database schema is up to date.")


@audit_app.command("verify")
@readable_errors(2)
def audit_verify(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's chain (id)")] = None,
    against: Annotated[Path | None, typer.Option(help="A signed checkpoint file")] = None,
) -> None:
    """Verify the audit chains; exit 1 naming the first bad event if any was tampered with."""
    from phivault.audit import service
    from phivault.bootstrap import open_vault

    vault = open_vault(load_settings())
    checkpoint = service.load_checkpoint(vault, against) if against else None
    reports = service.verify_all(vault, tenant=tenant, checkpoint=checkpoint)
    bad = [r for r in reports if not r.ok]
    for report in reports:
        if report.problem:
            out.print(
                f"[red]FAIL[/] tenant {report.tenant_id}: first bad event "
                f"{report.problem.seq} ({report.problem.kind}): {report.problem.detail}"
            )
        else:
            out.print(f"[green]ok[/]   tenant {report.tenant_id}: {report.events} events intact")
    if bad:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
@readable_errors()
def audit_checkpoint(
    output: Annotated[Path, typer.Argument(help="Where to write the signed checkpoint")],
) -> None:
    """Write a signed checkpoint of every chain's head."""
    from phivault.audit import service
    from phivault.bootstrap import open_vault

    heads = service.create_checkpoint(open_vault(load_settings()), output)
    out.print(f"Checkpoint of {len(heads)} chain(s) written to {output}")


@audit_app.command("export")
@readable_errors()
def audit_export(
    output: Annotated[Path | None, typer.Option(help="File to write (default: stdout)")] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (id)")] = None,
) -> None:
    """Export audit events as JSON lines (IDs and field names only, no PHI)."""
    from phivault.audit import service
    from phivault.bootstrap import open_vault

    vault = open_vault(load_settings())
    if output is None:
        service.export_events(vault, sys.stdout, tenant=tenant)
        return
    with output.open("w") as handle:
        count = service.export_events(vault, handle, tenant=tenant)
    err.print(f"{count} events written to {output}")


@keys_app.command("rotate")
@readable_errors()
def keys_rotate(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (id)")] = None,
    master: Annotated[
        bool, typer.Option(help="Also move every wrapped key to a new master key")
    ] = False,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction")] = 500,
) -> None:
    """New data-key version per tenant; re-encrypt every value and file in batches.

    Resumable: run it again after an interruption and it continues where it stopped.
    """
    from phivault.bootstrap import open_vault
    from phivault.crypto import rotation

    settings = load_settings()
    if master:
        rotation.rotate_master(settings, progress=out)
    vault = open_vault(settings)
    rotation.rotate_data_keys(vault, tenant=tenant, batch=batch, console=out)


def _operator_vault() -> Vault:
    from phivault.bootstrap import open_vault

    return open_vault(load_settings())


@user_app.command("add")
@readable_errors()
def user_add(
    username: str,
    name: Annotated[str, typer.Option(help="Display name")],
    tenant: Annotated[str, typer.Option(help="Tenant slug")],
    position: Annotated[str, typer.Option(help="Position title in the role directory")],
    privacy_officer: bool = False,
    administrator: bool = False,
    manager: Annotated[str | None, typer.Option(help="Username of their manager")] = None,
) -> None:
    """Create an account; its initial password is printed once and must be changed."""
    from phivault.identity import operator

    account = operator.add_user(
        _operator_vault(),
        username=username,
        display_name=name,
        tenant_slug=tenant,
        position=position,
        privacy_officer=privacy_officer,
        administrator=administrator,
        manager=manager,
    )
    out.print(f"Created [bold]{account.username}[/] ({account.member_id}).")
    out.print("Initial password (shown once; to be changed at first sign-in):")
    out.print(account.initial_password, highlight=False)


def _status(username: str, status: str) -> None:
    from phivault.identity import operator

    sessions, tokens = operator.set_status(_operator_vault(), username, status)
    out.print(f"{username}: {status}; {sessions} session(s) and {tokens} token(s) revoked.")


@user_app.command("suspend")
@readable_errors()
def user_suspend(username: str) -> None:
    """Suspend an account: every session and token stops working at once."""
    _status(username, "suspended")


@user_app.command("terminate")
@readable_errors()
def user_terminate(username: str) -> None:
    """Terminate an account (departure): sessions, tokens and every grant are revoked."""
    _status(username, "terminated")


@user_app.command("reinstate")
@readable_errors()
def user_reinstate(username: str) -> None:
    """Lift a suspension."""
    _status(username, "active")


@user_app.command("reset")
@readable_errors()
def user_reset(
    username: str,
    authorized_by: Annotated[
        str | None, typer.Option(help="A manager in their reporting line (required if any)")
    ] = None,
) -> None:
    """New initial password, authorized by a manager in the member's line (printed once)."""
    from phivault.identity import operator

    initial = operator.reset_password(_operator_vault(), username, authorized_by)
    authority = authorized_by or "the operator (no manager on record)"
    out.print(
        f"Password of {username} reset on the authority of {authority}; "
        "every session and token ended."
    )
    out.print("Initial password (shown once; to be changed at next sign-in):")
    out.print(initial, highlight=False)


@user_app.command("manager")
@readable_errors()
def user_manager(
    username: str,
    manager: Annotated[
        str | None, typer.Option(help="Their manager's username (omit to clear)")
    ] = None,
) -> None:
    """Set who is in a member's reporting line (managers authorize password resets)."""
    from phivault.identity import operator

    operator.set_manager(_operator_vault(), username, manager)
    out.print(f"{username} now reports to {manager or 'nobody'}.")


@sessions_app.command("list")
@readable_errors()
def sessions_list(
    user: Annotated[str | None, typer.Option(help="Only this username")] = None,
) -> None:
    """Open sessions, one per line: id, user, started, last seen, source (no PHI)."""
    from phivault.identity import operator

    for row in operator.list_sessions(_operator_vault(), user):
        out.print(
            "\t".join(
                (
                    str(row.id),
                    row.username,
                    row.created_at.isoformat(timespec="seconds"),
                    row.last_seen_at.isoformat(timespec="seconds"),
                    row.source,
                )
            ),
            highlight=False,
            soft_wrap=True,
        )


@sessions_app.command("revoke")
@readable_errors()
def sessions_revoke(
    user: Annotated[str | None, typer.Option(help="Every session of this username")] = None,
    session_id: Annotated[str | None, typer.Option("--id", help="One session")] = None,
) -> None:
    """End sessions now; the next request of each fails."""
    import uuid

    from phivault.identity import operator

    if bool(user) == bool(session_id):
        raise fail("give --user or --id")
    try:
        sid = uuid.UUID(session_id) if session_id else None
    except ValueError:
        raise fail("--id must be a session id") from None
    count = operator.revoke_sessions(_operator_vault(), username=user, session_id=sid)
    out.print(f"{count} session(s) revoked.")


def main() -> None:  # pragma: no cover - console entry point
    app()
