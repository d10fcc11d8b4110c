#!/usr/bin/env python3
"""The status page and a report page in a real browser: headless Chromium (Debian's, with its
chromedriver) loads each from disk and the DOM it built is checked: every service present,
its 90 day bars laid out with a size, the uptime figures, the report's chart drawn, and no
script element anywhere, while markup from the logs shows as text. A screenshot of each
page is kept.

usage: browser_check.py CHROMIUM STATUS_PAGE REPORT_PAGE SERVICES(comma-separated) SHOTS_DIR
"""
import pathlib
import re
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

FAILURES = []


def expect(ok, what):
    print(("ok      " if ok else "FAILED  ") + what)
    if not ok:
        FAILURES.append(what)


def browser(chromium):
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    # No network beyond loopback here: Chromium's background services would only fail.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1200,1600",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='ecs-monitor-chromium-')}"):
        opts.add_argument(flag)
    driver_path = pathlib.Path(chromium).with_name("chromedriver")
    return webdriver.Chrome(options=opts, service=Service(executable_path=str(driver_path)))


def status_page(d, path, services, shots):
    d.get(path.as_uri())
    js = d.execute_script
    expect(js("return document.scripts.length") == 0, "status page: no script element")
    expect(js("return document.images.length") == 0 and '<img src=x onerror="alert(1)">' in js("return document.body.innerText"),
           "status page: markup in a stored issue is shown as text")
    overall = js("return document.getElementById('overall').dataset.overall")
    expect(overall in ("healthy", "degraded", "unhealthy"), f"status page: overall status shown ({overall})")
    shown = js("return [...document.querySelectorAll('.check[data-kind=service]')].map(e => e.dataset.name)")
    expect(sorted(shown) == sorted(services), f"status page: every service present ({', '.join(shown)})")
    for name in shown:
        bars = js("""
            const c = document.querySelector(`.check[data-kind=service][data-name="${arguments[0]}"]`);
            const rects = [...c.querySelectorAll('svg.bars rect')];
            return {n: rects.length,
                    drawn: rects.filter(r => { const b = r.getBoundingClientRect(); return b.width > 0 && b.height > 0; }).length,
                    data: rects.filter(r => !r.classList.contains('none')).length,
                    colour: getComputedStyle(rects[rects.length - 1]).fill,
                    uptime: c.querySelector('[data-window="24 h"] b').textContent};""", name)
        expect(bars["n"] == 90 and bars["drawn"] == 90, f"status page: {name}: 90 day bars laid out ({bars['drawn']})")
        expect(bars["data"] >= 1 and bars["colour"] not in ("", "none", "rgb(0, 0, 0)"),
               f"status page: {name}: today's bar coloured ({bars['colour']})")
        expect(re.fullmatch(r"\d{1,3}\.\d\d%", bars["uptime"]) is not None, f"status page: {name}: 24 h uptime {bars['uptime']}")
    endpoints = js("return document.querySelectorAll('.check[data-kind=endpoint]').length")
    latency = js("return [...document.querySelectorAll('.latency')].map(e => e.textContent)")
    expect(endpoints >= 1 and all("p50" in t for t in latency) and len(latency) == endpoints,
           f"status page: {endpoints} endpoint(s) with latency percentiles")
    links = js("return [...document.querySelectorAll('#reports a')].map(a => a.href)")
    expect(links and all(pathlib.Path(l.removeprefix("file://")).exists() for l in links),
           f"status page: {len(links)} report link(s), each to a page that exists")
    shot = shots / "status.png"
    d.save_screenshot(str(shot))
    print(f"screenshot: {shot}")


def report_page(d, path, shots):
    d.get(path.as_uri())
    js = d.execute_script
    expect(js("return document.scripts.length") == 0, "report page: no script element")
    text = js("return document.body.innerText")
    expect('<script>alert("xss")</script>' in text, "report page: markup from the logs is shown as text")
    causes = js("return document.querySelectorAll('#causes li[data-kind]').length")
    expect(causes >= 1, f"report page: {causes} probable cause(s)")
    bars = js("""return [...document.querySelectorAll('svg.chart rect')]
                 .filter(r => r.getBoundingClientRect().height > 0).length""")
    expect(bars >= 1, f"report page: the errors chart draws {bars} bar(s)")
    errors = js("return document.querySelectorAll('.top-error pre').length")
    expect(errors >= 1, f"report page: {errors} top error(s) with samples")
    shot = shots / "report.png"
    d.save_screenshot(str(shot))
    print(f"screenshot: {shot}")


def main():
    chromium, status, report, services, shots = sys.argv[1:6]
    shots = pathlib.Path(shots)
    shots.mkdir(parents=True, exist_ok=True)
    d = browser(chromium)
    try:
        print(f"browser: {d.capabilities.get('browserName')} {d.capabilities.get('browserVersion')}")
        status_page(d, pathlib.Path(status).resolve(), services.split(","), shots)
        report_page(d, pathlib.Path(report).resolve(), shots)
    finally:
        d.quit()
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
