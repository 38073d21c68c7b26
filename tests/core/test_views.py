from __future__ import annotations

from typing import Any


def test_home_is_finnish_with_landmarks(client: Any) -> None:
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="fi">' in html
    assert 'href="#main"' in html and 'id="main"' in html
    assert "<footer" in html and "/accessibility" in html


def test_language_switch_to_swedish_and_english(client: Any) -> None:
    response = client.get("/lang/sv?next=/", follow_redirects=True)
    assert '<html lang="sv">' in response.get_data(as_text=True)
    response = client.get("/lang/en?next=/", follow_redirects=True)
    assert '<html lang="en">' in response.get_data(as_text=True)
    # An unknown code changes nothing, and an outside `next` is not followed.
    response = client.get("/lang/xx?next=https://evil.example/")
    assert response.headers["Location"] == "/"


def test_security_headers_and_csp(client: Any) -> None:
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_health_reports_database(client: Any) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_unknown_page_is_a_friendly_404(client: Any) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Sivua ei löytynyt" in response.get_data(as_text=True)


def test_accessibility_statement(client: Any) -> None:
    response = client.get("/accessibility")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "306/2019" in html
    # Supervision moved to a new agency in 2026: the statement points to the guidance site only.
    assert (
        "Jos et ole tyytyväinen vastaukseemme, voit ottaa yhteyttä valvontaviranomaiseen."
        " Ohjeet löydät osoitteesta www.saavutettavuusvaatimukset.fi." in html
    )
    assert "aluehallintovirasto" not in html.lower()


def test_theme_serves_configured_accent(app: Any, client: Any) -> None:
    app.config["ACCENT_COLOR"] = "#123456"
    try:
        assert "--accent: #123456" in client.get("/theme.css").get_data(as_text=True)
        app.config["ACCENT_COLOR"] = "red;} body{display:none"
        assert "--accent: #0b5394" in client.get("/theme.css").get_data(as_text=True)
    finally:
        app.config["ACCENT_COLOR"] = "#0b5394"


def test_municipality_name_is_configurable(app: Any, client: Any) -> None:
    app.config["MUNICIPALITY_NAME"] = "Testilän kunta"
    try:
        assert "Testilän kunta" in client.get("/").get_data(as_text=True)
    finally:
        app.config["MUNICIPALITY_NAME"] = "Esimerkkilän kaupunki"


def test_oversized_upload_is_refused_with_a_page(client: Any, app: Any) -> None:
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    response = client.post("/login", data=big, content_type="application/octet-stream")
    assert response.status_code == 413
    assert "MB" in response.get_data(as_text=True)


def test_logo_from_instance(app: Any, client: Any) -> None:
    from pathlib import Path

    Path(app.instance_path, "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    app.config["MUNICIPALITY_LOGO"] = "logo.svg"
    try:
        assert 'src="/logo"' in client.get("/").get_data(as_text=True)
        response = client.get("/logo")
        assert response.status_code == 200 and b"<svg" in response.data
        response.close()
        app.config["MUNICIPALITY_LOGO"] = "../secret_key"
        assert client.get("/logo").status_code == 404
    finally:
        app.config["MUNICIPALITY_LOGO"] = ""


def test_trusted_hosts_refuse_other_host_headers(app: Any, client: Any) -> None:
    app.config["TRUSTED_HOSTS"] = ["osallistu.example.fi"]
    try:
        assert client.get("/health", headers={"Host": "osallistu.example.fi"}).status_code == 200
        assert client.get("/health", headers={"Host": "evil.example"}).status_code == 400
    finally:
        app.config["TRUSTED_HOSTS"] = None
