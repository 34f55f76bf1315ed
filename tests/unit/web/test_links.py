"""Every internal link, form action and asset of a page names its route (``path_for``), so a
moved or renamed route cannot leave a dead link: no template spells an address of this site,
every name a template looks up is a route of the app taking exactly the parameters the
template passes, and no two routes share a name."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from jinja2 import nodes
from starlette.requests import Request

from phivault.api.app import create_app
from phivault.vault import Vault
from phivault.web.common import TEMPLATES, path_for

TEMPLATE_DIR = Path(TEMPLATES.env.loader.searchpath[0])  # type: ignore[union-attr]
TEMPLATE_NAMES = sorted(p.name for p in TEMPLATE_DIR.glob("*.html"))
# A quoted string that starts like an address on this site: "/t/…", '/account', "/" + a path.
# ("/>" closes an SVG element; "//host" would be another site, refused too.)
LOCAL_ADDRESS = re.compile(r"""(?P<q>["'])/(?:[^>"'\s]|(?P=q))""")
# Nothing is allowed: assets use path_for('web-static', path=…) as well.
ALLOWED: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def app() -> FastAPI:
    # Route tables only: nothing here serves a request, so no vault is opened.
    return create_app(cast(Vault, None))


def _source(name: str) -> str:
    return (TEMPLATE_DIR / name).read_text(encoding="utf-8")


def _lookups(name: str) -> list[tuple[int, Any, list[str]]]:
    """Each ``path_for(...)`` call in a template: line, route name (a constant, or the node
    when the template computes it) and the keyword names it passes."""
    tree = TEMPLATES.env.parse(_source(name))
    calls = []
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "path_for":
            first = call.args[0] if call.args else None
            route = first.value if isinstance(first, nodes.Const) else first
            calls.append((call.lineno, route, [kw.key for kw in call.kwargs]))
    return calls


def test_the_templates_are_all_found() -> None:
    assert len(TEMPLATE_NAMES) > 40
    assert "base.html" in TEMPLATE_NAMES


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_no_template_spells_an_address_of_this_site(name: str) -> None:
    found = [
        (lineno, line.strip()[:120])
        for lineno, line in enumerate(_source(name).splitlines(), 1)
        for match in LOCAL_ADDRESS.finditer(line)
        if (name, match.group(0)) not in ALLOWED
    ]
    assert not found, f"{name}: use path_for(route name, …) instead of an address: {found}"


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_every_route_a_template_names_exists_with_those_parameters(name: str, app: FastAPI) -> None:
    for lineno, route, params in _lookups(name):
        assert isinstance(route, str), f"{name}:{lineno}: path_for needs a literal route name"
        dummy = {param: f"{param}-value" for param in params}
        try:
            path = app.url_path_for(route, **dummy)
        except Exception as exc:  # NoMatchFound: unknown name or other parameters
            pytest.fail(f"{name}:{lineno}: path_for({route!r}, {', '.join(params)}): {exc!r}")
        assert str(path).startswith("/")


def test_the_templates_do_look_routes_up() -> None:
    used = {route for name in TEMPLATE_NAMES for _, route, _ in _lookups(name)}
    # The pages everyone sees, the agency's sections, a form's POST and an asset.
    assert {"home", "dashboard", "chart", "logout_submit", "web-static"} <= used


def test_route_names_are_unique(app: FastAPI) -> None:
    names = Counter(route.name for route in iter_route_contexts(app.routes))
    assert [name for name, count in names.items() if count > 1] == []


def _request(app: FastAPI) -> Request:
    return Request({"type": "http", "app": app, "method": "GET", "path": "/", "headers": []})


def test_path_for_is_a_path_not_an_absolute_url(app: FastAPI) -> None:
    request = _request(app)
    tenant, person = "6f1c", "9a2b"
    assert path_for(request, "home") == "/"
    assert path_for(request, "chart", tenant_id=tenant, person_id=person) == "/t/6f1c/people/9a2b"
    assert path_for(request, "web-static", path="app.css") == "/static/web/app.css"


def test_a_rendered_link_is_the_route_path(app: FastAPI) -> None:
    request = _request(app)
    html = TEMPLATES.get_template("problem.html").render(
        request=request, tenant={"id": "6f1c", "name": "Agency"}, heading="Not found", error="x"
    )
    assert '<a href="/t/6f1c">Back to the dashboard</a>' in html
    assert '<link rel="stylesheet" href="/static/web/app.css">' in html
