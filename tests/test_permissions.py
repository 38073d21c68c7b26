"""Every staff route, found from the URL map, refuses anonymous users and the wrong role."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from participation.accounts.models import ROLES


def _guarded_routes(app: Flask) -> list[tuple[str, str, tuple[str, ...]]]:
    routes = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        roles = getattr(view, "required_roles", None)
        if roles is None:
            continue
        args = {
            name: (1 if "int" in type(conv).__name__.lower() else "x")
            for name, conv in rule._converters.items()
        }  # noqa: SLF001
        path = rule.build(args)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, path, tuple(roles)))
    return routes


def test_staff_routes_are_declared(app: Flask) -> None:
    paths = {path for _m, path, _r in _guarded_routes(app)}
    assert "/staff" in paths and "/staff/users" in paths
    unguarded = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/staff")
        and getattr(app.view_functions[rule.endpoint], "required_roles", None) is None
    ]
    assert unguarded == [], f"staff routes without a declared role: {unguarded}"


def test_anonymous_is_sent_to_login(app: Flask, client: Any, post: Any) -> None:
    for method, path, _roles in _guarded_routes(app):
        response = client.get(path) if method == "GET" else post(path)
        assert response.status_code == 302, (method, path)
        assert "/login" in response.headers["Location"], (method, path)


@pytest.mark.parametrize("role", ROLES)
def test_wrong_role_is_refused(
    app: Flask, client: Any, post: Any, login_as: Any, role: str
) -> None:
    login_as(role)
    checked = 0
    for method, path, roles in _guarded_routes(app):
        if role in roles:
            # Allowed POSTs are left out: they act (one ends this very session).
            if method == "GET":
                assert client.get(path).status_code != 403, path
            continue
        response = client.get(path) if method == "GET" else post(path)
        assert response.status_code == 403, (method, path)
        checked += 1
    if role == "contact_person":
        assert checked > 0  # the coordinator-only routes were really tried


def test_post_without_csrf_token_is_refused(app: Flask, client: Any, login_as: Any) -> None:
    login_as("coordinator")
    response = client.post(
        "/staff/users",
        data={
            "name": "X",
            "email": "x@example.org",
            "role": "coordinator",
            "password": "0123456789ab",
        },
    )
    assert response.status_code == 400
    assert (
        "lomake" in response.get_data(as_text=True).lower()
        or "form" in response.get_data(as_text=True).lower()
    )
