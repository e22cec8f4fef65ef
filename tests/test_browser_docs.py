"""/docs in headless Chromium with every request off this machine blocked: Swagger UI loads from our
own static files, reads /openapi.json and renders the operations, within the page's CSP (the `page`
fixture fails on any CSP violation)."""

from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser import screenshot

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def test_docs_render_the_operations_with_no_internet(gateway, page):
    outside = []

    def only_local(route):
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", only_local)
    page.goto(gateway.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("LLM Gateway API")
    operations = page.locator(".opblock-summary-path")
    expect(operations.filter(has_text="/api/chat/completions").first).to_be_visible()
    # Swagger UI renders only the operations near the viewport (virtualized): count them in its state,
    # and scroll to the end to see the last ones rendered too
    assert page.evaluate("ui.specSelectors.operations().size") > 50
    top = set(operations.evaluate_all("found => found.map(o => o.dataset.path)"))
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    expect(operations.filter(has_text="/ready")).to_have_count(1)
    assert set(operations.evaluate_all("found => found.map(o => o.dataset.path)")) - top
    page.evaluate("window.scrollTo(0, 0)")
    page.locator(".opblock-summary", has=page.locator("[data-path='/api/chat/completions']")).first.click()
    expect(page.locator(".opblock-body").first).to_contain_text("messages")
    screenshot(page, "docs-offline")
    assert outside == []
