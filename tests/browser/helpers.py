"""Browser-side sign-in for tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.signin import Account, complete

# The PostgreSQL smoke set of the browser tests: the flows that cross most of the data layer.
both_backends = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)


class _BrowserRequests:
    """The browser context's own HTTP client (it shares the page's cookies), shaped like the
    test client that :func:`tests.support.signin.complete` drives."""

    class _Answer:
        def __init__(self, response: Any) -> None:
            self.status_code = response.status
            self.text = response.text()
            self._json = response.json() if self.text else None

        def json(self) -> Any:
            return self._json

    def __init__(self, page: Any) -> None:
        self._request = page.context.request

    def post(self, url: str, *, headers: dict[str, str] | None = None, json: Any = None) -> Any:
        return self._Answer(self._request.post(url, headers=headers or {}, data=json))


def sign_in_first_time(page: Any, env: Any, account: Account) -> Account:
    """Initial password -> own password -> TOTP enrolment, then home: through the sign-in API
    from the browser's own context, so the page holds a session like any other. The sign-in
    pages themselves are driven click by click in tests/browser/test_sign_in.py; every other
    browser test would only pay a second for them again."""
    complete(_BrowserRequests(page), env, account)
    page.goto("/")
    return account
