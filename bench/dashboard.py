"""The dashboard with many containers: how long the list call takes, how long the page
takes from login to a rendered first page, to the next page and to a container created
over REST showing up, in headless chromium (scripts/ensure-chromium.sh).

The containers are CREATED records (the dashboard reads popvim's store, not the engine).

    .venv/bin/python bench/dashboard.py                  # 1,000 containers
    .venv/bin/python bench/dashboard.py --containers 100
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from _common import summary  # noqa: E402
from metrics import populate  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from support.daemon import BUSYBOX, PASSWORD, SLEEPER, USER, Daemon  # noqa: E402


def browser() -> webdriver.Chrome:
    os.environ["SE_OFFLINE"] = "true"
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        daemon = Daemon(Path(state)).start()
        driver = None
        try:
            with daemon.client() as api:
                t = time.perf_counter()
                populate(api, 0, args.containers, workers=4)
                print(f"created {args.containers} containers in {time.perf_counter() - t:.1f} s")
                lists = []
                for _ in range(args.reps):
                    t = time.perf_counter()
                    api.get("/v1/containers").raise_for_status()
                    lists.append((time.perf_counter() - t) * 1000)
                print(f"GET /v1/containers: {summary(lists)} ms")

                driver = browser()
                driver.get(f"{daemon.url}/dashboard")
                WebDriverWait(driver, 10).until(lambda b: b.find_element(By.ID, "username").is_displayed())
                driver.find_element(By.ID, "username").send_keys(USER)
                driver.find_element(By.ID, "password").send_keys(PASSWORD)
                t = time.perf_counter()
                driver.find_element(By.ID, "login-button").click()
                WebDriverWait(driver, 60).until(
                    lambda b: len(b.find_elements(By.CSS_SELECTOR, "#containers-table tbody tr")) == 50
                )
                print(f"login to first page rendered: {(time.perf_counter() - t) * 1000:.0f} ms")
                pages = []
                for i in range(args.reps):
                    t = time.perf_counter()
                    driver.find_element(By.ID, "next-page").click()
                    WebDriverWait(driver, 10).until(
                        lambda b, i=i: f"page {i + 2} of" in b.find_element(By.ID, "page-info").text
                    )
                    pages.append((time.perf_counter() - t) * 1000)
                print(f"next page (click to rendered): {summary(pages)} ms")
                WebDriverWait(driver, 10).until(lambda b: b.find_element(By.ID, "live").text == "live")
                appear = []
                for _ in range(args.reps):
                    name = f"a-{uuid.uuid4().hex[:6]}"
                    driver.execute_script(
                        "document.getElementById('filter').value = arguments[0];"
                        "document.getElementById('filter').dispatchEvent(new Event('input'))",
                        name,
                    )
                    t = time.perf_counter()
                    body = {"name": name, "image": BUSYBOX, "command": SLEEPER}
                    api.post("/v1/containers", json=body).raise_for_status()
                    WebDriverWait(driver, 10, poll_frequency=0.01).until(
                        lambda b, n=name: b.find_elements(By.CSS_SELECTOR, f'tr[data-name="{n}"]')
                    )
                    appear.append((time.perf_counter() - t) * 1000)
                print(f"created over REST to shown on the page: {summary(appear)} ms")
        finally:
            if driver is not None:
                driver.quit()
            daemon.stop()
            daemon.purge()


if __name__ == "__main__":
    main()
