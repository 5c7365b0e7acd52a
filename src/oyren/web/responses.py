"""The status codes routes answer besides success, as the OpenAPI description lists them.

Every refusal has the same JSON body (:class:`ErrorBody`); a browser gets the same words as an
error page. Routers list the refusals all their routes share, and a route adds its own:
:data:`FORM_POST` for a form post (a 303 to the next page; a 403 when the CSRF token is wrong),
:data:`RATE_LIMITED` for a rate-limited one. FastAPI's own 422 is not listed, since the app
answers an invalid parameter with a 400 naming it; :func:`document_refusals` takes it out.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = [
    "FORM_POST",
    "PUBLIC",
    "RATE_LIMITED",
    "SIGNED_IN",
    "ErrorBody",
    "document_refusals",
]


class ErrorDetail(BaseModel):
    """What went wrong, in the reader's language."""

    status: int
    title: str
    message: str
    retry_after: int | None = None


class ErrorBody(BaseModel):
    """The JSON answer of every refusal and error."""

    error: ErrorDetail


Responses = dict[int | str, dict[str, Any]]


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


BAD_REQUEST: Responses = {
    400: _error("A parameter or field is missing, malformed or out of bounds")
}
NOT_FOUND: Responses = {404: _error("No such campaign, video, round or award")}
RATE_LIMITED: Responses = {429: _error("Too many requests from this address; see Retry-After")}
PUBLIC: Responses = {**BAD_REQUEST, **NOT_FOUND, **RATE_LIMITED}
"""What every public route may answer besides success."""
SIGNED_IN: Responses = {
    **BAD_REQUEST,
    303: {"description": "Not signed in, in a browser: on to the sign-in page"},
    401: _error("Not signed in (a browser is sent to sign in with a 303 instead)"),
    403: _error("The account's role may not do this"),
    **NOT_FOUND,
}
"""What every route for a signed-in role may answer besides success."""
FORM_POST: Responses = {
    303: {"description": "A browser's form post: on to the next page"},
    403: _error("The CSRF token is missing or wrong, or the account may not do this"),
}
"""What a route that changes something adds."""


def document_refusals(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop FastAPI's automatic 422 from ``schema``: invalid input is a 400 here."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", {"description": BAD_REQUEST[400]["description"]})
    schemas = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return schema
