"""Query parameters a route does not know are an error, not something to ignore.

`?contry=IQ` answering the whole timeline looks like an answer; a 422 that names
the parameter and lists the known ones says what went wrong.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError


def unknown_parameters(given: Iterable[str], known: Iterable[str]) -> list[dict[str, Any]]:
    """One problem per parameter in `given` that is not in `known`."""
    known = sorted(set(known))
    listed = ", ".join(known) if known else "none"
    found = []
    for name in dict.fromkeys(given):
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        problem = {
            "field": name,
            "msg": f"unknown query parameter {name!r}; this endpoint takes: {listed}",
            "type": "extra_forbidden",
        }
        if close:
            problem["hint"] = f"did you mean {close[0]!r}?"
        found.append(problem)
    return found


def _declared(dependant: Any) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _declared(dependency)
    return names


_KNOWN: dict[int, frozenset[str]] = {}  # route id -> its query parameters


async def only_known_query_parameters(request: Request) -> None:
    """Router dependency: 422 for any query parameter the route does not declare."""
    route = request.scope.get("route")
    if route is None or not request.query_params:
        return
    known = _KNOWN.get(id(route))
    if known is None:
        known = _KNOWN[id(route)] = frozenset(_declared(route.dependant))
    found = unknown_parameters(request.query_params.keys(), known)
    if found:
        raise RequestValidationError([{"loc": ("query", p.pop("field")), **p} for p in found])
