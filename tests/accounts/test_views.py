from __future__ import annotations

import datetime as dt
from typing import Any

from click.testing import Result

from participation.accounts import services
from tests.conftest import TEST_PASSWORD


def _login(post: Any, email: str, password: str = TEST_PASSWORD) -> Any:
    return post("/login", {"email": email, "password": password})


def test_login_and_logout(client: Any, post: Any, make_user: Any) -> None:
    user = make_user("coordinator")
    response = _login(post, user.email)
    assert response.status_code == 302 and response.headers["Location"] == "/staff"
    assert client.get("/staff").status_code == 200
    response = post("/logout")
    assert response.status_code == 302
    assert client.get("/staff").status_code == 302


def test_wrong_password_keeps_email_and_says_why(client: Any, post: Any, make_user: Any) -> None:
    user = make_user("coordinator")
    response = _login(post, user.email, "wrong password!")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "error-summary" in html
    assert f'value="{user.email}"' in html


def test_empty_login_names_the_fields(client: Any, post: Any) -> None:
    html = post("/login", {"email": "", "password": ""}).get_data(as_text=True)
    assert 'href="#email"' in html and 'href="#password"' in html


def test_login_attempts_are_rate_limited(client: Any, post: Any, make_user: Any) -> None:
    user = make_user("coordinator")
    codes = [_login(post, user.email, "wrong password!").status_code for _ in range(6)]
    assert codes[:5] == [200] * 5
    assert codes[5] == 429
    # Even the right password is refused until the window passes, with a clear message.
    response = _login(post, user.email)
    assert response.status_code == 429
    assert "Liian monta yritystä" in response.get_data(as_text=True)


def test_login_starts_a_new_session(client: Any, post: Any, make_user: Any) -> None:
    user = make_user("coordinator")
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    _login(post, user.email)
    with client.session_transaction() as s:
        assert "planted" not in s


def test_revoked_session_is_signed_out(client: Any, db: Any, login_as: Any) -> None:
    user = login_as("coordinator")
    assert client.get("/staff").status_code == 200
    services.revoke_all_sessions(db, user.id, now=dt.datetime.now(dt.UTC))
    db.commit()
    assert client.get("/staff").status_code == 302


def test_sessions_page_ends_another_session(client: Any, db: Any, post: Any, login_as: Any) -> None:
    user = login_as("contact_person")
    other_token = services.start_session(
        db, user, now=dt.datetime.now(dt.UTC), user_agent="Old laptop"
    )
    db.commit()
    html = client.get("/staff/sessions").get_data(as_text=True)
    assert "Old laptop" in html
    other = services.current_session_id(db, other_token)
    post(f"/staff/sessions/{other}/revoke")
    assert services.load_session_user(db, other_token, now=dt.datetime.now(dt.UTC)) is None
    assert client.get("/staff").status_code == 200  # this session still works


def test_deactivated_user_cannot_sign_in(client: Any, db: Any, post: Any, make_user: Any) -> None:
    user = make_user("contact_person")
    services.set_active(db, user, False, now=dt.datetime.now(dt.UTC))
    db.commit()
    html = _login(post, user.email).get_data(as_text=True)
    assert "error-summary" in html


def test_coordinator_creates_user_and_bad_input_is_kept(
    client: Any, post: Any, login_as: Any
) -> None:
    login_as("coordinator")
    response = post(
        "/staff/users",
        {
            "name": "<script>alert(1)</script>",
            "email": "not-an-address",
            "role": "contact_person",
            "password": "short",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert 'value="not-an-address"' in html
    assert 'href="#password"' in html
    response = post(
        "/staff/users",
        {
            "name": "Uusi Ihminen",
            "email": "uusi@example.org",
            "role": "contact_person",
            "password": "long enough password",
        },
    )
    assert response.status_code == 302
    assert "uusi@example.org" in client.get("/staff/users").get_data(as_text=True)


def test_megabyte_in_a_field_is_a_message_not_a_500(client: Any, post: Any, login_as: Any) -> None:
    login_as("coordinator")
    response = post(
        "/staff/users",
        {
            "name": "x" * 1_000_000,
            "email": "big@example.org",
            "role": "contact_person",
            "password": "long enough password",
        },
    )
    assert response.status_code in (200, 413)
    assert "error" in response.get_data(as_text=True)


def test_create_user_cli(app: Any, db: Any) -> None:
    runner = app.test_cli_runner()
    result: Result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "cli@example.org",
            "--name",
            "Cli User",
            "--role",
            "contact_person",
            "--password",
            "cli password 123",
        ]
    )
    assert result.exit_code == 0, result.output
    user = services.find_user_by_email(db, "cli@example.org")
    assert user is not None and user.role == "contact_person"
    assert services.authenticate(db, "cli@example.org", "cli password 123") is not None
    again = runner.invoke(
        args=[
            "create-user",
            "--email",
            "cli@example.org",
            "--name",
            "X",
            "--password",
            "cli password 123",
        ]
    )
    assert again.exit_code != 0


def test_expired_form_keeps_what_was_typed(client: Any, login_as: Any) -> None:
    login_as("coordinator")
    response = client.post(
        "/staff/users",
        data={
            "csrf_token": "expired-or-forged",
            "name": "Kesken Jäänyt",
            "email": "kesken@example.org",
            "role": "contact_person",
            "password": "long enough password",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="Kesken Jäänyt"' in html and 'value="kesken@example.org"' in html
    assert (
        "kesken@example.org"
        not in client.get("/staff/users").get_data(as_text=True).split("<h2")[0]
    )


def test_action_button_without_token_does_nothing(client: Any, login_as: Any) -> None:
    login_as("coordinator")
    response = client.post("/staff/sessions/revoke-all", data={})
    assert response.status_code == 400
    assert client.get("/staff").status_code == 200  # still signed in: nothing was done
