"""The app: built from settings, its error pages in both forms, and errors mapped to statuses."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import APIRouter

from tests.web.test_security import BASE


def test_unknown_page_is_a_404_page(client: httpx.Client) -> None:
    page = client.get("/no/such/page?lang=en")
    twin = client.get("/no/such/page.json")
    assert (page.status_code, twin.status_code) == (404, 404)
    assert "Page not found" in page.text
    assert '<html lang="en">' in page.text
    assert twin.json() == {
        "error": {
            "status": 404,
            "title": "Səhifə tapılmadı",
            "message": "Bu ünvanda heç nə yoxdur. Ola bilsin, başqa yerə köçürülüb.",
            "retry_after": None,
        }
    }


def test_unknown_campaign_is_a_404_that_names_the_stored_ones(client: httpx.Client) -> None:
    page = client.get("/campaigns/no-such-contest")
    assert page.status_code == 404
    assert "no campaign &#39;no-such-contest&#39;" in page.text
    assert "sandbox-2024" in page.text


def test_wrong_method_is_a_405_page(client: httpx.Client) -> None:
    assert client.post(BASE).status_code == 405


def test_server_error_shows_a_page_not_a_traceback(
    make_client: Callable[..., httpx.Client],
) -> None:
    with make_client(raise_server_exceptions=False) as c:
        boom = APIRouter()

        @boom.get("/boom")
        def explode() -> None:
            raise RuntimeError("secret detail in a traceback")

        c._transport._asgi.app.include_router(boom)  # type: ignore[attr-defined]
        page = c.get("/boom?lang=en")
        twin = c.get("/boom", headers={"Accept": "application/json"})
    assert page.status_code == 500
    assert "Something went wrong on our side" in page.text
    assert "secret detail" not in page.text + twin.text
    assert "Traceback" not in page.text
    assert twin.json()["error"]["status"] == 500
