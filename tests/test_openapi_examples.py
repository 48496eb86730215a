"""Every example in the OpenAPI document is valid and meaningful: the server
accepts each request example over the seed, and each model example validates."""

from __future__ import annotations

import inspect
from typing import Any

import orjson
from pydantic import BaseModel

from domain import values
from service import schemas
from tests.seeding import post_seed

# Where a request example goes on the seed: the report or actor it is about.
PATH_IDS = {
    "/reports/{report_id}/corrections": {"report_id": "seed-afp-2024-02-02-01"},  # says janvier
    "/reports/{report_id}/retraction": {"report_id": "seed-afp-2024-02-02-21"},
    "/actors/{actor_id}/aliases": {"actor_id": "Hachd al-Chaabi"},
    "/actors/{actor_id}/parent": {"actor_id": "Quds Force"},
    "/incidents/{incident}": {"incident": "2024-02-02-us-strikes-iraq-syria"},
    "/actors/{actor_id}/history": {"actor_id": "Hachd al-Chaabi"},
    "/reports/{report_id}": {"report_id": "seed-afp-2024-02-02-01"},
    "/actors/{actor_id}": {"actor_id": "Hachd al-Chaabi"},
}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _path(client, template: str) -> str:
    path = template
    for name, given in PATH_IDS.get(template, {}).items():
        if name == "report_id":
            value = str(client.app.state.timeline.report_id_for_key(given))
        elif name == "actor_id":
            value = client.get("/actors/resolve", params={"name": given}).json()["id"]
        else:
            value = given
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"add {template} to PATH_IDS: which seed object is it about?"
    return path


def _body_examples(spec: dict[str, Any], operation: dict[str, Any]) -> list[tuple[str, Any]]:
    found = []
    for media, content in operation.get("requestBody", {}).get("content", {}).items():
        example = content.get("example", _resolve(spec, content.get("schema", {})).get("example"))
        assert example is not None, f"{operation['summary']}: {media} has no example"
        found.append((media, example))
    return found


def test_every_request_example_is_accepted_over_the_seed(client):
    head = post_seed(client)
    spec = client.get("/openapi.json").json()
    sent = []
    for template, operations in spec["paths"].items():
        for method, operation in operations.items():
            # A required enumerated query parameter (POST /imports?format=): its first value.
            required = {
                p["name"]: _resolve(spec, p["schema"])["enum"][0]
                for p in operation.get("parameters", [])
                if p["in"] == "query" and p.get("required") and "requestBody" in operation
            }
            for media, example in _body_examples(spec, operation):
                body = example if isinstance(example, str) else orjson.dumps(example)
                answer = client.request(
                    method,
                    _path(client, template),
                    content=body,
                    params=required,
                    headers={"content-type": media},
                )
                assert 200 <= answer.status_code < 300, (template, media, answer.text)
                sent.append((method, template, media))
            for parameter in operation.get("parameters", []):
                examples = parameter.get("schema", {}).get("examples", [])
                if parameter["in"] != "query":
                    continue
                for example in examples:
                    params = {parameter["name"]: example}
                    answer = client.get(_path(client, template), params=params)
                    assert answer.status_code == 200, (template, params, answer.text)
                    sent.append((method, template, parameter["name"]))
    bodies = {(m, t) for m, t, media in sent if "/" in media}
    assert bodies == {
        ("post", "/reports"),
        ("post", "/reports/{report_id}/corrections"),
        ("post", "/reports/{report_id}/retraction"),
        ("post", "/actors"),
        ("post", "/actors/{actor_id}/aliases"),
        ("put", "/actors/{actor_id}/parent"),
        ("post", "/imports"),
    }
    assert ("post", "/reports", "application/x-ndjson") in sent
    # The example report answers a seed incident and joins one.
    report = spec["paths"]["/reports"]["post"]["requestBody"]["content"]["application/json"]
    for key in (report["example"]["responds_to"], report["example"]["incident_key"]):
        assert client.get(f"/incidents/{key}", params={"min_position": head}).status_code == 200


def _models() -> dict[str, type[BaseModel]]:
    return {
        name: model
        for module in (values, schemas)
        for name, model in inspect.getmembers(module, inspect.isclass)
        if issubclass(model, BaseModel)
    } | {"ContentChanges": schemas.ContentChanges}


def test_every_model_example_validates(client):
    spec = client.get("/openapi.json").json()
    models = _models()
    checked = []
    for name, schema in spec["components"]["schemas"].items():
        if "example" not in schema:
            continue
        model = models[name.removesuffix("-Input").removesuffix("-Output")]
        model.model_validate(schema["example"])
        checked.append(name)
    assert len(checked) >= 20, checked


def test_when_is_documented_as_what_the_server_accepts(client):
    spec = client.get("/openapi.json").json()
    report = spec["components"]["schemas"]["ReportIn"]
    when = _resolve(spec, report["properties"]["when"])
    forms = {form["title"]: form for form in when["anyOf"]}
    assert forms["EDTF string"]["type"] == "string"
    assert forms["EDTF with details"]["required"] == ["edtf"]
    assert forms["Explicit days"]["required"] == ["earliest", "latest"]
    base = {"kind": "strike", "source": {"outlet": "AFP", "language": "fr"}}
    for when_value in (
        "2024-02-02",
        {"edtf": "2024-02-02", "wording": "le 2 février"},
        {"earliest": "2024-02-02", "latest": "2024-02-03"},
    ):
        answer = client.post("/reports", json={**base, "when": when_value})
        assert answer.status_code == 201, answer.text
