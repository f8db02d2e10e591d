"""Debian's chromium, headless, driven through Debian's chromedriver by selenium
(scripts/ensure-chromium.sh installs them; nothing downloads a browser or a driver),
and the dashboard's log-in as a person does it. For the modules that test the dashboard."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from support.daemon import PASSWORD, USER, Daemon

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@contextmanager
def chromium() -> Iterator[WebDriver]:
    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), "run scripts/ensure-chromium.sh"
    os.environ["SE_OFFLINE"] = "true"  # selenium-manager must never fetch a driver or a browser
    options = Options()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,900",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def log_in(browser: WebDriver, daemon: Daemon) -> None:
    """Through the page's form, as a person would; waits until live updates flow."""
    browser.get(f"{daemon.url}/dashboard")
    browser.execute_script("sessionStorage.clear()")
    browser.get(f"{daemon.url}/dashboard")
    WebDriverWait(browser, 10).until(ec.visibility_of_element_located((By.ID, "username"))).send_keys(USER)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-button").click()
    WebDriverWait(browser, 10).until(ec.text_to_be_present_in_element((By.ID, "live"), "live"))


def wait(browser: WebDriver, timeout: float) -> WebDriverWait[WebDriver]:
    """The page re-renders its tables on every event, so an element found a moment ago may be gone."""
    return WebDriverWait(browser, timeout, ignored_exceptions=[NoSuchElementException, StaleElementReferenceException])


def click(browser: WebDriver, css: str, timeout: float = 10) -> None:
    def clicked(b: WebDriver) -> bool:
        b.find_element(By.CSS_SELECTOR, css).click()
        return True

    wait(browser, timeout).until(clicked)
