"""The tab bar of exposed ports (js/src/tabs.js) in a real browser: the full-page viewer and the notebook widget show
Desktop | each port its owner exposed; an app's tab shows its page from inside the desktop, and a Chromium DevTools
port's tab loads Chromium's own DevTools front end through the Jupyter server's proxy, connected to the page that
Chromium inside the desktop shows (its Elements panel lists that page's heading).

The server answers with JupyterHub's headers (frame-ancestors 'none' on Jupyter's own pages): the proxied apps'
pages still show in the tab's frame.
"""

from __future__ import annotations

import sys


from ..conftest import eventually
from ..harness.browser import skip_without_chromium
from ..harness.lab_notebook import open_notebook, show, start
from ..harness.server import JupyterServer, free_port

skip_without_chromium()

HEADING = "Inspected by DevTools"


def launch(server: JupyterServer, desktop_id: str, command: list[str]) -> None:
    answer = server.api("POST", f"/{desktop_id}/processes", json={"command": command})
    assert answer.status_code == 201, answer.text


def chromium(port: int, tmp_path) -> list[str]:
    """Chromium with its DevTools server on ``port``, showing a page with HEADING."""
    page = tmp_path / "inspected.html"
    page.write_text(f"<title>Inspected</title><h1>{HEADING}</h1>")
    return ["chromium", "--no-sandbox", "--no-first-run", "--disable-gpu", f"--remote-debugging-port={port}",
            f"--user-data-dir={tmp_path / 'chromium-profile'}", page.as_uri()]  # fmt: skip


def web_server(port: int, tmp_path) -> list[str]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>Served from inside the desktop</p>")
    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)]


def answers(server: JupyterServer, path: str) -> bool:
    return server.request("GET", path).status_code == 200


def test_viewer_tabs_show_an_app_and_devtools(page, server, desktop, tmp_path):
    devtools_port, app_port = free_port(), free_port()
    launch(server, desktop, chromium(devtools_port, tmp_path))
    launch(server, desktop, web_server(app_port, tmp_path))
    page.goto(server.url + f"desktop/{desktop}/")
    page.wait_for_selector("#jupyter-desktop[data-state=connected]", timeout=30000)
    assert page.locator(".jd-tabs").is_hidden()  # nothing exposed: no tab bar

    for port, name in ((app_port, "Site"), (devtools_port, "DevTools")):
        answer = server.api("POST", f"/{desktop}/call/expose", json={"args": {"port": port, "name": name}})
        assert answer.status_code == 200, answer.text
        eventually(lambda p=port: answers(server, f"desktop/{desktop}/port/{p}/json/version" if p == devtools_port
                                          else f"desktop/{desktop}/port/{p}/"), timeout=60, what=f"port {port}")  # fmt: skip
    # the viewer looks at the desktop's ports every few seconds
    page.locator(f".jd-tab[data-tab='{devtools_port}']").wait_for(timeout=20000)
    assert page.locator(".jd-tab").all_inner_texts() == ["Desktop", "Site", "DevTools"]

    page.locator(f".jd-tab[data-tab='{app_port}']").click()
    app = page.frame_locator(f".jd-port-panel[data-port='{app_port}'] iframe")
    app.get_by_text("Served from inside the desktop").wait_for(timeout=20000)
    assert page.locator(".jd-screen").is_visible()  # the desktop stays connected under the panel
    assert page.locator("#jupyter-desktop").get_attribute("data-state") == "connected"

    page.locator(f".jd-tab[data-tab='{devtools_port}']").click()
    panel = page.locator(f".jd-port-panel[data-port='{devtools_port}']")
    panel.locator("select").wait_for(timeout=20000)
    assert "Inspected" in panel.locator("select option").all_inner_texts()
    front_end = page.frame_locator(f".jd-port-panel[data-port='{devtools_port}'] iframe")
    # the Elements panel of the DevTools front end, connected over the proxied WebSocket, shows the page's DOM
    front_end.get_by_text(HEADING).first.wait_for(timeout=60000)

    page.locator(".jd-tab[data-tab='desktop']").click()
    assert panel.is_hidden() and page.locator(".jd-tab[data-tab='desktop']").get_attribute("aria-selected") == "true"

    assert server.api("POST", f"/{desktop}/call/unexpose", json={"args": {"port": app_port}}).status_code == 200
    page.locator(f".jd-tab[data-tab='{app_port}']").wait_for(state="detached", timeout=20000)


def test_widget_tabs_follow_expose(browser, lab: JupyterServer, tmp_path):
    context, nb = open_notebook(browser, lab, "ports.ipynb")
    try:
        desktop_id = start(nb, lab.started, "d", "width=800, height=600")
        view = show(nb, "d", desktop_id, "websocket")
        assert view.locator(".jd-tabs").is_hidden()
        app_port = free_port()
        nb.run(f"_site = d.launch({web_server(app_port, tmp_path)!r})")
        eventually(lambda: answers(lab, f"desktop/{desktop_id}/port/{app_port}/") if nb.value(
            f"d.expose({app_port}, 'Site') and True") else False, timeout=30, what="the site through Jupyter")  # fmt: skip
        view.locator(f".jd-tab[data-tab='{app_port}']").click()  # the kernel's expose() gave the view its tab
        frame = view.frame_locator(f".jd-port-panel[data-port='{app_port}'] iframe")
        frame.get_by_text("Served from inside the desktop").wait_for(timeout=20000)
        nb.run(f"d.unexpose({app_port})")
        view.locator(f".jd-tab[data-tab='{app_port}']").wait_for(state="detached", timeout=20000)
        assert view.locator(".jd-tabs").is_hidden()
        assert view.locator(".jd-port-panel").count() == 0
        assert not nb.errors, nb.errors
        nb.run("d.close()")
    except BaseException:
        nb.page.screenshot(path=str(tmp_path / "failure.png"))
        raise
    finally:
        context.close()
