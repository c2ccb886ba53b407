"""Responses serialized once, straight from the model to JSON bytes.

A route that returns a model has FastAPI dump it, validate the dump against the response
model, and serialize it again. Hot routes declare `response_model` for the docs and
return `json_response(model)` instead.
"""

from fastapi import Response, status
from pydantic import BaseModel


def json_response(body: BaseModel, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(body.model_dump_json(), status_code=status_code, media_type="application/json")
