"""``/docs`` in real Chromium: Swagger UI renders the OpenAPI document from files the package
ships, with every request off this origin blocked (offline), under the strict CSP, with no
console error (a CSP violation is one) and no inline script or style attribute in the page."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect

from tests.browser.harness import Demo, shot
from verifier.routes.web import CSP


def test_docs_render_offline_under_the_csp(page: Page, demo: Demo) -> None:
    origin = urlsplit(demo.verifier.url).netloc
    leaving: list[str] = []

    def offline(route: Route) -> None:
        if urlsplit(route.request.url).netloc == origin:
            route.continue_()
        else:  # no network: anything else would hang or fail
            leaving.append(route.request.url)
            route.abort()

    page.context.route("**/*", offline)
    answer = page.goto(f"{demo.verifier.url}/docs")
    assert answer is not None and answer.status == 200
    assert answer.headers["content-security-policy"] == CSP
    create = page.locator(".opblock-summary-path", has_text="/v1/presentations").first
    expect(create).to_be_visible()
    expect(page.locator(".info .title")).to_contain_text("agentvp")
    # The 201 answer of POST /v1/presentations has a schema (not an empty body).
    page.locator("#operations-relying_party-create_presentation_v1_presentations_post").click()
    responses = page.locator(".opblock.is-open .responses-table")
    expect(responses).to_contain_text("201")
    expect(responses).to_contain_text("authorization_request_uri")
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
    assert leaving == []
    shot(page, "docs")
