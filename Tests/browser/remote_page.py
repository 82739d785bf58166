"""The clerk's page reached from another computer: `schoolstat serve --host 0.0.0.0 --allow-remote`,
opened in headless Chromium through a second loopback address (127.0.0.2, standing in for the
server's address on the school's network; nothing leaves 127.0.0.0/8). The printed address carries
the token; the page must then load styled, run its script and check an upload, its own requests
carrying the token by the cookie the first request set. Without the token: 401.

    python3 Tests/browser/remote_page.py BINARY

Exit status 0 when every check passes; each failed check is printed."""

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from browser_support import ROOT, check, chromium, finish
from check_page import PLANTED, summary, upload, workbook


def start_server(binary):
    server = subprocess.Popen([binary, "serve", "--host", "0.0.0.0", "--allow-remote", "--port", "0",
                               "--rules", os.path.join(ROOT, "Rules")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    found = re.search(r"http://0\.0\.0\.0:(\d+)/\?token=([0-9a-f]+)", line)
    if not found:
        server.kill()
        raise SystemExit("the server did not start: " + line + server.stderr.read())
    return server, int(found.group(1)), found.group(2)


def status(url):
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="schoolstat-remote-")
    planted = os.path.join(work, "本校教师名册.xlsx")
    workbook(planted, True)
    server, port, token = start_server(os.path.abspath(args.binary))
    base = f"http://127.0.0.2:{port}/"
    driver = None
    try:
        for path in ("", "app.js", "app.css", "health"):
            check(status(base + path) == 401, f"without the token /{path} is refused (401)")
        check(status(base + "app.css?token=" + "0" * len(token)) == 401, "a wrong token is refused (401)")

        driver = chromium()
        wait = WebDriverWait(driver, 60)
        driver.get(base + "?token=" + token)
        header = driver.find_element(By.TAG_NAME, "header")
        background = header.value_of_css_property("background-color")
        check(background in ("rgb(31, 78, 121)", "rgba(31, 78, 121, 1)"), f"the page is styled: app.css loaded ({background})")
        check(driver.find_element(By.TAG_NAME, "h1").text == "学校数据提交前检查", "the script ran: app.js loaded and filled the page")
        check("token" not in driver.current_url, f"the token has left the address bar ({driver.current_url})")

        upload(driver, planted, wait)
        counts = summary(driver)
        check(counts.get("errors") == len(PLANTED), f"the upload was checked: {len(PLANTED)} errors on the page ({counts})")
        check(not driver.find_element(By.ID, "failure").is_displayed(), "no failure shown")

        # A reload, without the token in the address, still works: the cookie carries it.
        driver.refresh()
        header = driver.find_element(By.TAG_NAME, "header")
        check(header.value_of_css_property("background-color") == background, "after a reload the page is still styled")
        check(driver.find_element(By.TAG_NAME, "h1").text == "学校数据提交前检查", "after a reload the script still runs")
        # The script no longer knows the token (the address lost it): the check is posted with the cookie alone.
        upload(driver, planted, wait)
        counts = summary(driver)
        check(counts.get("errors") == len(PLANTED), f"an upload after the reload is checked too ({counts})")

        # The cookie is the server's to read, not the page's.
        check(driver.execute_script("return document.cookie") == "", "the cookie is HttpOnly: the page's script cannot read it")
        cookies = driver.get_cookies()
        check(len(cookies) == 1 and cookies[0].get("sameSite") == "Strict" and cookies[0].get("httpOnly") is True
              and cookies[0].get("path") == "/", f"one cookie, HttpOnly, SameSite=Strict, Path=/ ({cookies})")

        # A browser without the cookie and without the token is refused.
        driver.delete_all_cookies()
        driver.get(base)
        check("需要访问令牌" in driver.page_source, "without the cookie or the token the page is refused")
    finally:
        if driver:
            driver.quit()
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    finish("remote page test passed")


if __name__ == "__main__":
    main()
