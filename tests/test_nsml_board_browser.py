"""The board in a real browser (headless Chromium driven by Selenium): every page loads with no console error,
live regions follow the store, a memo's markup never runs, and the README's screenshots are taken.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them) and the ``selenium`` package;
skipped with the reason otherwise. Screenshots go to a temporary folder, or to ``$NSML_BOARD_SCREENSHOTS`` when
set (``NSML_BOARD_SCREENSHOTS=docs/img pytest tests/test_nsml_board_browser.py`` renews the README's).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from board_support import FIRST, MEMO, SECOND, fill_store, running_board
from nsml_support import nsml_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="no headless Chromium here: apt-get install chromium chromium-driver "
                                       "(as .ci/run does)")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
pytest.importorskip("flask", reason="nsml board needs Flask (pip install flask)")

from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

LIVE = (StaleElementReferenceException,)  # a live region replaces its elements between a find and a read

WIDTH = 1280
MAX_HEIGHT = 2000
PAGES = {  # screenshot name: path
    "sessions": "/",
    "session": f"/session/{FIRST}",
    "leaderboard": "/dataset/toy",
    "submission": f"/session/{FIRST}/submission/1",
    "compare": f"/compare?s={FIRST}&s={SECOND}",
    "datasets": "/datasets",
}


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("browser")
    env = fill_store(base, epochs=8)
    nsml_cli(env, "run", "-d", "toy", "-a", "--epochs eight", cwd=base / "project", check=False)  # failed(2)
    with running_board(env) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", f"--window-size={WIDTH},900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def no_alert(driver) -> bool:
    """True when no alert() is open (a script taken from a memo or transcript would have opened one)."""
    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        return True
    alert.dismiss()
    return False


def test_every_page_loads_without_console_errors_and_is_captured(board, browser, tmp_path: Path) -> None:
    folder = Path(os.environ.get("NSML_BOARD_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in PAGES.items():
        browser.set_window_size(WIDTH, 900)
        browser.get(board.url.rstrip("/") + path)
        assert browser.find_element(By.CSS_SELECTOR, "header.top .brand").text == "nsml board"
        assert console_errors(browser) == [], f"{path}: console errors"
        assert no_alert(browser), f"{path}: a script from the records ran"
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(WIDTH, min(max(height, 600), MAX_HEIGHT))
        target = folder / f"board-{name}.png"
        assert browser.save_screenshot(str(target))
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 10_000


def test_markup_in_records_is_shown_as_text(board, browser) -> None:
    browser.get(board.url)
    memo = browser.find_element(By.CSS_SELECTOR, f'tr[data-session="{FIRST}"] td.memo')
    assert memo.text == MEMO and no_alert(browser)
    browser.get(board.url.rstrip("/") + f"/session/{FIRST}/submission/1?show=all&order=test")
    hypotheses = [el.text for el in browser.find_elements(By.CSS_SELECTOR, "li.utterance .texts div:nth-child(2)")]
    assert hypotheses[2] == "hyp <b>괜찮습니다</b>"
    assert browser.find_elements(By.CSS_SELECTOR, ".texts b, .texts i") == []  # no element made from a transcript


def test_live_regions_follow_the_store_and_keep_ticked_sessions(board, browser, monkeypatch) -> None:
    import nsml

    browser.get(board.url.rstrip("/") + f"/session/{SECOND}")
    captions = [el.text for el in browser.find_elements(By.CSS_SELECTOR, "figcaption")]
    assert "wer" not in captions
    monkeypatch.setenv("NSML_HOME", board.env["NSML_HOME"])
    monkeypatch.setenv("NSML_SESSION", SECOND)
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("NSML_PAUSED", raising=False)
    nsml.report(step=2, eval__wer=0.4)
    WebDriverWait(browser, 15, ignored_exceptions=LIVE).until(
        lambda d: "wer" in [el.text for el in d.find_elements(By.CSS_SELECTOR, "figcaption")])

    browser.get(board.url)
    box = browser.find_element(By.CSS_SELECTOR, f'input[value="{FIRST}"]')
    box.click()
    nsml_cli(board.env, "memo", SECOND, "changed while the page was open")
    WebDriverWait(browser, 15, ignored_exceptions=LIVE).until(lambda d: d.find_element(
        By.CSS_SELECTOR, f'tr[data-session="{SECOND}"] td.memo').text == "changed while the page was open")
    assert browser.find_element(By.CSS_SELECTOR, f'input[value="{FIRST}"]').is_selected()
    browser.find_element(By.CSS_SELECTOR, f'input[value="{SECOND}"]').click()
    browser.find_element(By.CSS_SELECTOR, "#compare-form button").click()
    WebDriverWait(browser, 15).until(lambda d: "/compare" in d.current_url)
    compared = [el.text for el in browser.find_elements(By.CSS_SELECTOR, "table.compare tbody tr td:first-child")]
    assert sorted(compared) == [FIRST, SECOND]
    assert console_errors(browser) == []


def _at_tail(driver) -> bool:
    return driver.execute_script(
        "const log = document.querySelector('pre.log');"
        "return log.scrollHeight > log.clientHeight + 50 && log.scrollHeight - log.scrollTop - log.clientHeight < 8;")


def test_the_log_panel_follows_the_tail_of_a_live_run(board, browser) -> None:
    name = nsml_cli(board.env, "run", "-d", "toy", "-a", "--epochs 30 --epoch_seconds 0.4", "--detach",
                    cwd=Path(board.env["NSML_HOME"]).parent / "project").stdout.strip()
    browser.get(board.url.rstrip("/") + f"/session/{name}")
    assert "epoch 30 done" not in browser.find_element(By.CSS_SELECTOR, "pre.log").text  # opened while it ran
    WebDriverWait(browser, 60).until(
        lambda d: "epoch 30 done" in d.find_element(By.CSS_SELECTOR, "pre.log").get_attribute("textContent"))
    assert _at_tail(browser), "the log panel does not show its newest lines after a live update"
    browser.refresh()
    assert _at_tail(browser), "the log panel opens at its oldest lines"
    assert console_errors(browser) == []


def test_the_compare_caption_says_the_line_styles_it_draws(board, browser) -> None:
    browser.get(board.url.rstrip("/") + f"/compare?s={FIRST}&s={SECOND}")
    caption = browser.find_element(By.CSS_SELECTOR, "p.line-styles").text
    assert "train solid, eval dashed" in caption
    paths = browser.find_elements(By.CSS_SELECTOR, "figure.chart svg path")
    drawn = {path.find_element(By.TAG_NAME, "title").get_attribute("textContent"):
             path.get_attribute("stroke-dasharray") for path in paths}
    assert drawn[f"{FIRST} train/loss"] is None and drawn[f"{SECOND} train/cer"] is None  # solid
    assert drawn[f"{FIRST} eval/loss"] == "6 3" and drawn[f"{SECOND} eval/cer"] == "6 3"  # dashed


@pytest.mark.parametrize("width", [1400, 760])
def test_tables_fit_or_scroll_inside_their_box(board, browser, width: int) -> None:
    browser.set_window_size(width, 900)
    for path in ("/", f"/session/{FIRST}", "/dataset/toy", "/datasets", f"/compare?s={FIRST}&s={SECOND}&s=tester/*"):
        browser.get(board.url.rstrip("/") + path)
        page = browser.execute_script("const root = document.documentElement;"
                                      "return [root.scrollWidth, root.clientWidth]")
        assert page[0] <= page[1], f"{path} at {width} px scrolls sideways: {page}"
        for box in browser.find_elements(By.CSS_SELECTOR, ".scroll"):
            table = box.find_element(By.TAG_NAME, "table")
            inner, outer = table.size["width"], box.size["width"]
            scrolls = browser.execute_script("return arguments[0].scrollWidth > arguments[0].clientWidth", box)
            assert inner <= outer + 1 or scrolls, f"{path}: a table of {inner} px is cut to {outer} px"
    if width == 1400:  # the widest table here fits whole: its last column (the best score) is in view
        last = browser.find_elements(By.CSS_SELECTOR, "table.compare thead th")[-1]
        assert last.text == "best score"
        right = browser.execute_script("return arguments[0].getBoundingClientRect().right", last)
        assert right <= width


def test_each_utterance_plays_its_test_wav_beside_the_alignment(board, browser) -> None:
    browser.get(board.url.rstrip("/") + f"/session/{FIRST}/submission/1?show=all&order=test")
    players = browser.find_elements(By.CSS_SELECTOR, "li.utterance audio.play")
    assert len(players) == 6
    third = players[2]
    assert third.find_element(By.XPATH, "..").find_element(By.CSS_SELECTOR, "code.key").text == "test_03"
    browser.execute_script("arguments[0].load()", third)
    WebDriverWait(browser, 15).until(lambda d: d.execute_script("return arguments[0].readyState", third) >= 1)
    seconds = browser.execute_script("return arguments[0].duration", third)
    assert abs(seconds - 3200 / 16000) < 0.01  # test_03 is 3200 frames at 16 kHz
    link = browser.find_element(By.CSS_SELECTOR, "p.downloads a")
    assert link.get_attribute("href").endswith(f"/session/{FIRST}/submission/1/utterances.csv")
    assert console_errors(browser) == []


def _column(driver, table: str, index: int) -> list[str]:
    """The text of one column, read in one script (a live update may replace the table between two reads)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(`table#${arguments[0]} tbody tr`),"
        " (row) => row.cells[arguments[1]].innerText.trim())", table, index)


def _press(driver, table: str, index: int) -> None:
    driver.execute_script("document.querySelectorAll(`table#${arguments[0]} thead th`)[arguments[1]]"
                          ".querySelector('button.sort').click()", table, index)


def test_tables_sort_by_a_pressed_heading_and_stay_sorted_across_live_updates(board, browser) -> None:
    browser.get(board.url)
    headings = [th.text.rstrip(" ↕▲▼") for th in browser.find_elements(By.CSS_SELECTOR, "#sessions-table thead th")]
    best = headings.index("best score")
    _press(browser, "sessions-table", best)
    assert _column(browser, "sessions-table", best)[:2] == ["CRR 45.71", "CRR 57.14"]
    assert all(cell == "-" for cell in _column(browser, "sessions-table", best)[2:])  # unscored ones last
    _press(browser, "sessions-table", best)
    names = _column(browser, "sessions-table", 1)
    assert _column(browser, "sessions-table", best)[:2] == ["CRR 57.14", "CRR 45.71"]
    assert names[:2] == [FIRST, SECOND]
    assert browser.execute_script("return document.querySelectorAll('#sessions-table thead th')[arguments[0]]"
                                  ".getAttribute('aria-sort')", best) == "descending"

    nsml_cli(board.env, "memo", SECOND, "sorted while the page was open")
    WebDriverWait(browser, 15, ignored_exceptions=LIVE).until(lambda d: d.find_element(
        By.CSS_SELECTOR, f'tr[data-session="{SECOND}"] td.memo').text == "sorted while the page was open")
    assert _column(browser, "sessions-table", 1)[:2] == [FIRST, SECOND]  # still best first after the swap

    browser.get(board.url.rstrip("/") + "/dataset/toy")
    browser.find_element(By.CSS_SELECTOR, "#history-1").find_element(By.XPATH, "..").find_element(
        By.XPATH, "ancestor::details").click()
    _press(browser, "history-1", 3)
    assert _column(browser, "history-1", 3) == ["28.57", "45.71", "57.14"]
    assert console_errors(browser) == []


def test_chart_controls_smooth_change_the_axis_and_zoom_by_dragging(board, browser) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import Select

    browser.set_window_size(WIDTH, 900)
    browser.get(board.url.rstrip("/") + f"/session/{FIRST}")

    def loss_svg():
        return next(figure.find_element(By.TAG_NAME, "svg") for figure in browser.find_elements(
            By.CSS_SELECTOR, "figure.chart") if figure.find_element(By.TAG_NAME, "figcaption").text == "loss")

    def steps() -> list[str]:
        titles = [t.get_attribute("textContent") for t in loss_svg().find_elements(By.CSS_SELECTOR, "circle title")]
        return sorted({t.split(" @ ")[1].split(":")[0] for t in titles if t.startswith("train/loss")}, key=float)

    assert steps() == [str(n) for n in range(1, 9)]
    slider = browser.find_element(By.CSS_SELECTOR, "form.chart-options input[name=smooth]")
    browser.execute_script("arguments[0].value = '0.7'; arguments[0].dispatchEvent(new Event('input'));"
                           "arguments[0].dispatchEvent(new Event('change'));", slider)
    WebDriverWait(browser, 15).until(lambda d: "smooth=0.7" in d.current_url)
    assert len(loss_svg().find_elements(By.CSS_SELECTOR, "path.raw")) == 2
    assert browser.find_element(By.CSS_SELECTOR, ".smoothing output").text == "0.70"

    svg = loss_svg()
    width = svg.size["width"]
    ActionChains(browser).move_to_element_with_offset(svg, int(-width * 0.05), 0).click_and_hold().move_by_offset(
        int(width * 0.3), 0).release().perform()
    WebDriverWait(browser, 15).until(lambda d: "from=" in d.current_url and "to=" in d.current_url)
    zoomed = steps()
    assert 1 <= len(zoomed) < 8 and "smooth=0.7" in browser.current_url
    ActionChains(browser).double_click(loss_svg()).perform()
    WebDriverWait(browser, 15).until(lambda d: "from=&" in d.current_url or "from=" not in d.current_url)
    assert steps() == [str(n) for n in range(1, 9)]

    Select(browser.find_element(By.CSS_SELECTOR, "form.chart-options select[name=x]")).select_by_value("relative")
    WebDriverWait(browser, 15).until(lambda d: "x=relative" in d.current_url)
    labels = [t.text for t in loss_svg().find_elements(By.CSS_SELECTOR, "text.axis-label")]
    assert labels == ["time since the first report"]
    assert console_errors(browser) == []
