"""``phivault``: init, demo, serve, db, audit and keys commands.

Every command honours PHIVAULT_HOME and PHIVAULT_DATABASE_URL. Errors are printed as one
readable line and exit non-zero; no PHI, secret or key is ever printed except the one-time
credentials of a newly created account.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from phivault.config import load_settings
from phivault.errors import PhivaultError

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit trail.")
keys_app = typer.Typer(no_args_is_help=True, help="Encryption keys.")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")

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
            except SQLAlchemyError as exc:
                raise fail(
                    f"database error ({type(exc).__name__}): check PHIVAULT_DATABASE_URL, that "
                    "the server is up and that the schema is current ('phivault db upgrade')",
                    code,
                ) from None
            except OSError as exc:
                raise fail(
                    f"{exc.strerror or type(exc).__name__}: {exc.filename or ''}", code
                ) from None
            except Exception as exc:
                raise fail(
                    f"unexpected {type(exc).__name__}; its details were not printed", code
                ) from None

        return cast(Command, run)

    return decorate


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
    out.print("API token (shown once, store it in a password manager):")
    out.print(first.token, soft_wrap=True, highlight=False)


@app.command()
@readable_errors()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve when built")
    ] = True,
    patients: Annotated[int, typer.Option(help="Fabricated patients per tenant")] = 100,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Build a vault of fabricated data (two tenants) and serve it."""
    from phivault.demo import build_demo

    settings = load_settings()
    summary = build_demo(settings, patients_per_tenant=patients, progress=out)
    out.print(f"\nDemo vault ready in [bold]{settings.home}[/] (all data fabricated).")
    for line in summary.login_lines():
        out.print(line, soft_wrap=True, highlight=False)
    if serve_after:
        out.print(
            f"\nServing on [bold]http://{host}:{port}[/] — API docs at /docs, "
            "OpenAPI at /openapi.json. Ctrl-C stops."
        )
        _serve(host, port)


def _serve(host: str, port: int) -> None:
    import uvicorn

    from phivault.api.app import create_app
    from phivault.bootstrap import open_vault

    vault = open_vault(load_settings())
    uvicorn.run(create_app(vault), host=host, port=port, log_level="warning", access_log=False)


@app.command()
@readable_errors()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the API."""
    _serve(host, port)


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


def main() -> None:  # pragma: no cover - console entry point
    app()
