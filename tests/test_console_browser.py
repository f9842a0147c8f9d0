"""The console in a real browser: headless Chromium (Debian's package) drives a live server.

Each journey runs against one gunicorn server on a SQLite store with a small catalog and a trained model.
Screenshots of every page visited, at 1280 px and at 390 px, are saved under
``CONSOLE_SCREENSHOTS`` (default ``build/screenshots``) to be looked at.

The tests skip only when Chromium or its driver is not installed (``scripts/test`` installs them)
and the run is not in CI (``CI`` unset); in CI, and whenever they are installed, a browser that
cannot start is a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from marketplace import create_app
from marketplace.extensions import db
from tests.conftest import BASE_CONFIG, create_index
from tests.console_helpers import account
from tests.factories import (
    PASSWORD,
    case_payload,
    enterprise_account,
    enterprise_payload,
    login,
    provider_payload,
    solution_payload,
)
from tests.gunicorn import gunicorn, server_config

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER_PATH", "/usr/bin/chromedriver"))
SCREENSHOTS = Path(
    os.environ.get("CONSOLE_SCREENSHOTS", Path(__file__).resolve().parent.parent / "build/screenshots")
)
NEEDS = "客户老投诉我们的注塑件有黑点缩水，全靠老师傅拿眼看外观缺陷"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()) and not os.environ.get("CI"),
        reason=f"Chromium or chromedriver is not installed ({CHROMIUM}, {CHROMEDRIVER}); "
        "scripts/test installs them with apt-get install chromium chromium-driver",
    ),
]


def build_catalog(app) -> dict:
    """Accounts of every role, a published solution and case, and a trained recommender."""
    client = app.test_client()
    emails = {
        "provider": account(app, "provider", "sales@zhijian.example.cn", name="王经理"),
        "enterprise": account(app, "enterprise", "boss@zhusu.example.cn", name="李厂长"),
        "admin": account(app, "admin", "admin@platform.example.cn", name="平台管理员"),
    }
    headers = {role: login(client, email) for role, email in emails.items()}
    office = account(app, "city_office", "office@suzhou.example.cn", city="苏州市", name="苏州市工信局")
    headers["office"] = login(client, office)
    assert (
        client.post("/api/v1/providers", json=provider_payload(), headers=headers["provider"]).status_code
        == 201
    )
    assert (
        client.post(
            "/api/v1/enterprises", json=enterprise_payload(), headers=headers["enterprise"]
        ).status_code
        == 201
    )
    solution = client.post("/api/v1/solutions", json=solution_payload(), headers=headers["provider"]).json
    client.post(f"/api/v1/solutions/{solution['id']}/submit", headers=headers["provider"])
    client.post(f"/api/v1/solutions/{solution['id']}/approve", headers=headers["admin"])
    case = client.post(
        "/api/v1/cases",
        json=case_payload(title="注塑企业视觉质检改造样板", solution_ids=[solution["id"]]),
        headers=headers["office"],
    ).json
    sub = client.post(
        "/api/v1/cities/苏州市/pilot/sub-industries",
        json={"name": "注塑制品", "industry_codes": ["C292"], "target_count": 20},
        headers=headers["office"],
    ).json
    enterprise_id = client.get("/api/v1/auth/me", headers=headers["enterprise"]).json["enterprise_id"]
    client.post(
        f"/api/v1/cities/苏州市/pilot/sub-industries/{sub['id']}/enrolments",
        json={"enterprise_ids": [enterprise_id]},
        headers=headers["office"],
    )
    emails["office"] = office
    result = app.test_cli_runner().invoke(args=["matching", "train"])
    assert result.exit_code == 0, result.output
    return {"emails": emails, "solution": solution, "case": case}


@pytest.fixture(scope="module")
def live(sqlite_template, tmp_path_factory):
    """A live gunicorn (gunicorn.conf.py, two workers) over a catalog; yields its URL and the catalog."""
    folder = tmp_path_factory.mktemp("live")
    config = {**BASE_CONFIG, **server_config(folder), "INDEX_DRAIN_INTERVAL": 2}
    shutil.copy(sqlite_template, config["DATABASE_URL"].removeprefix("sqlite:///"))
    app = create_app(config)
    create_index(app)
    catalog = build_catalog(app)
    with app.app_context():
        db.engine.dispose()
    with gunicorn(config, folder / "gunicorn.log", workers=2) as (port, _):
        yield {"url": f"http://127.0.0.1:{port}", "app": app, "folder": folder, **catalog}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through chromedriver; failing to start is an error, never a skip."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--lang=zh-CN",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.implicitly_wait(2)
    yield driver
    driver.quit()


@pytest.fixture
def session(browser, live):
    """A fresh browser session (cookies cleared) at desktop width."""
    browser.delete_all_cookies()
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.set_window_size(1280, 900)
    return browser


def screenshot(driver, name: str) -> None:
    """Save the page at 1280 px and at 390 px (a phone), then go back to 1280 px."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}-1280.png"))
    phone(driver)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}-390.png"))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def phone(driver) -> None:
    """Show the page as a 390 px wide phone does."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True},
    )


def follow(driver, element) -> None:
    """Click a link or a submit button and wait until the next page has replaced this one."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 10).until(expected_conditions.staleness_of(page))


def sign_in(driver, url: str, email: str) -> None:
    """Sign in through the form and wait until the landing page is there."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{url}/login")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    follow(driver, driver.find_element(By.CSS_SELECTOR, "form.card button[type=submit]"))
    WebDriverWait(driver, 10).until(
        lambda d: "/login" not in d.current_url and d.find_elements(By.TAG_NAME, "h1")
    )


def sign_out(driver) -> None:
    """Sign out with the header's button and wait until the page says so."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    follow(driver, driver.find_element(By.CSS_SELECTOR, "header form button"))
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.LINK_TEXT, "注册"))


def test_an_anonymous_need_gets_recommendations_with_reasons(session, live):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    session.get(live["url"] + "/")
    assert session.find_element(By.CSS_SELECTOR, "label[for=needs]").text == "说说您遇到的问题"
    screenshot(session, "home")
    session.find_element(By.ID, "needs").send_keys(NEEDS)
    Select(session.find_element(By.ID, "industry")).select_by_value("C2929")
    follow(session, session.find_element(By.CSS_SELECTOR, "form.needs-form button[type=submit]"))
    assert session.find_element(By.TAG_NAME, "h1").text == "为您推荐"
    first = session.find_element(By.CSS_SELECTOR, "#solutions-title ~ article")
    assert live["solution"]["title"] in first.text
    assert first.find_elements(By.CSS_SELECTOR, ".reasons li"), "a recommended solution without reasons"
    assert "3–8 万元" in first.text
    cases = session.find_elements(By.CSS_SELECTOR, "#cases-title ~ article")
    assert cases and cases[0].find_elements(By.CSS_SELECTOR, ".reasons li")
    screenshot(session, "results")
    follow(session, cases[0].find_element(By.CSS_SELECTOR, "h3 a"))
    assert session.find_element(By.CSS_SELECTOR, "p.kicker").text == "看样学样"
    screenshot(session, "case")
    follow(session, session.find_element(By.LINK_TEXT, live["solution"]["title"]))
    screenshot(session, "solution")
    follow(session, session.find_element(By.LINK_TEXT, "登录后联系服务商"))
    assert "/login?next=" in session.current_url


def test_an_enterprise_contacts_the_provider_who_answers(session, live):
    from selenium.webdriver.common.by import By

    sign_in(session, live["url"], live["emails"]["enterprise"])
    session.get(f"{live['url']}/solutions/{live['solution']['id']}")
    session.find_element(By.ID, "message").send_keys("我们有 12 台注塑机，想先在一条线上试点，大概多少钱？")
    follow(session, session.find_element(By.CSS_SELECTOR, "section.contact button[type=submit]"))
    assert "咨询已发送" in session.find_element(By.CSS_SELECTOR, ".notice").text
    sign_out(session)

    sign_in(session, live["url"], live["emails"]["provider"])
    session.get(f"{live['url']}/inquiries")
    assert "未处理的新咨询 1 条" in session.find_element(By.CSS_SELECTOR, "p.lead").text
    screenshot(session, "provider-inbox")
    follow(session, session.find_element(By.CSS_SELECTOR, "article.unread h2 a"))
    session.find_element(By.ID, "reply-message").send_keys("您好，单线试点约 3 万元，两周上线。")
    follow(session, session.find_element(By.CSS_SELECTOR, "form.card button.primary"))
    assert "回复已发送" in session.page_source
    assert "已联系" in session.find_element(By.CSS_SELECTOR, "p.meta strong").text
    screenshot(session, "provider-thread")
    sign_out(session)


def test_a_provider_fixes_a_field_error_submits_and_an_admin_approves(session, live):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    title = "注塑车间能耗监测与峰谷用电优化平台"
    sign_in(session, live["url"], live["emails"]["provider"])
    assert session.find_element(By.TAG_NAME, "h1").text == "苏州智检科技有限公司"
    screenshot(session, "provider-home")
    follow(session, session.find_element(By.LINK_TEXT, "发布新方案"))
    session.find_element(By.ID, "title").send_keys(title)
    session.find_element(By.ID, "summary").send_keys("电表接入，分项计量，找出最耗电的设备")
    session.find_element(By.ID, "description").send_keys("按设备、班组统计用电，峰谷电价优化。")
    Select(session.find_element(By.ID, "industries")).select_by_value("C2929")
    session.find_element(By.CSS_SELECTOR, "input[name=scenarios][value=energy]").click()
    session.find_element(By.CSS_SELECTOR, "input[name=delivery_modes][value=saas]").click()
    session.find_element(By.ID, "price_min_cny").send_keys("50000")
    session.find_element(By.ID, "price_max_cny").send_keys("20000")
    session.find_element(By.ID, "deploy_days").send_keys("30")
    follow(session, session.find_element(By.CSS_SELECTOR, "form.card button.primary"))

    field = session.find_element(By.ID, "price_max_cny")
    errors = session.find_element(By.ID, "price_max_cny-errors")
    assert errors.text == "最高报价不能低于最低报价"
    assert field.get_attribute("aria-invalid") == "true"
    assert errors.find_element(By.XPATH, "..") == field.find_element(By.XPATH, "..")
    screenshot(session, "solution-form-error")
    field.clear()
    field.send_keys("120000")
    follow(session, session.find_element(By.CSS_SELECTOR, "form.card button.primary"))
    assert "方案已保存为草稿" in session.find_element(By.CSS_SELECTOR, ".notice").text
    follow(session, session.find_element(By.CSS_SELECTOR, "form.inline button.primary"))
    row = session.find_element(By.XPATH, f"//tr[th/a[text()='{title}']]")
    assert row.find_element(By.CSS_SELECTOR, ".badge").text == "待审核"
    sign_out(session)

    sign_in(session, live["url"], live["emails"]["admin"])
    assert session.find_element(By.TAG_NAME, "h1").text == "审核队列"
    screenshot(session, "admin-review")
    card = session.find_element(By.XPATH, f"//article[h3/a[text()='{title}']]")
    follow(session, card.find_element(By.CSS_SELECTOR, "button.primary"))
    assert "已通过" in session.find_element(By.CSS_SELECTOR, ".notice").text
    sign_out(session)

    session.get(f"{live['url']}/search?q=能耗监测")
    hits = [a.text for a in session.find_elements(By.CSS_SELECTOR, ".hits article h2 a")]
    assert title in hits
    screenshot(session, "search")


def test_pages_fit_a_390_px_phone_without_sideways_scrolling(session, live):
    pages = [
        "/",
        "/search?q=视觉",
        f"/solutions/{live['solution']['id']}",
        f"/cases/{live['case']['id']}",
        "/login",
        "/register",
    ]
    phone(session)
    for path in pages:
        session.get(live["url"] + path)
        width, viewport = session.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert viewport == 390, path
        assert width <= viewport, f"{path} is {width} px wide on a 390 px screen"
    sign_in(session, live["url"], live["emails"]["provider"])
    for path in ["/provider", "/provider/solutions/new", "/inquiries"]:
        session.get(live["url"] + path)
        width, viewport = session.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert width <= viewport, f"{path} is {width} px wide on a 390 px screen"
    session.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    session.get(live["url"] + "/provider")
    offsets = session.execute_script(
        """return Array.from(document.querySelectorAll("td.actions"))
             .filter(cell => cell.querySelector("a") && cell.querySelector("button"))
             .map(cell => {
               const link = cell.querySelector("a").getBoundingClientRect();
               const button = cell.querySelector("button").getBoundingClientRect();
               return Math.abs(link.top + link.bottom - button.top - button.bottom) / 2;
             });"""
    )
    assert offsets and max(offsets) <= 4, f"编辑 and its row's button are not level: {offsets} px apart"


def test_signing_in_with_the_keyboard_only(session, live):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    session.get(live["url"] + "/login")
    keys = ActionChains(session)
    focused = []
    for _ in range(12):
        keys.send_keys(Keys.TAB).perform()
        focused.append(session.switch_to.active_element.get_attribute("id"))
        if focused[-1] == "email":
            break
    assert focused[0] == "", "the first stop is the skip link"
    assert focused[-1] == "email", f"tabbing never reached the e-mail field: {focused}"
    keys.send_keys(live["emails"]["enterprise"]).send_keys(Keys.TAB).send_keys(PASSWORD).send_keys(Keys.ENTER)
    keys.perform()
    WebDriverWait(session, 10).until(lambda d: d.current_url.endswith("/enterprise"))
    assert session.find_element(By.TAG_NAME, "h1").text == enterprise_payload()["name"]


def test_each_role_lands_on_its_own_page(session, live):
    from selenium.webdriver.common.by import By

    landings = {
        "enterprise": ("/enterprise", enterprise_payload()["name"]),
        "office": ("/city", "苏州市 · 中小企业数字化转型试点看板"),
        "admin": ("/review", "审核队列"),
        "provider": ("/provider", "苏州智检科技有限公司"),
    }
    for role, (path, heading) in landings.items():
        sign_in(session, live["url"], live["emails"][role])
        assert session.current_url.endswith(path)
        assert session.find_element(By.TAG_NAME, "h1").text == heading
        if role == "enterprise":  # the saved industry shows in the finder's box, not only in the list
            saved = enterprise_payload()["industry"]
            assert session.find_element(By.ID, "industry-finder").get_attribute("value").startswith(saved)
        screenshot(session, f"{role}-landing")
        sign_out(session)
    sign_in(session, live["url"], live["emails"]["office"])
    bars = session.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(bars) == 2
    assert "还需 1 家" in session.find_element(By.CSS_SELECTOR, "main").text
    phone(session)
    session.get(live["url"] + "/city")
    width, viewport = session.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width <= viewport, f"/city is {width} px wide on a 390 px screen"


def test_the_industry_type_ahead_picks_an_entry_by_keyboard(session, live):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    session.get(live["url"] + "/")
    finder = session.find_element(By.ID, "industry-finder")
    assert session.find_element(By.CSS_SELECTOR, "label[for=industry-finder]").text.startswith("按名称")
    assert finder.get_attribute("role") == "combobox"
    listbox = session.find_element(By.ID, finder.get_attribute("aria-controls"))
    finder.send_keys("注塑")
    WebDriverWait(session, 10).until(lambda d: listbox.is_displayed())
    assert finder.get_attribute("aria-expanded") == "true"
    options = listbox.find_elements(By.CSS_SELECTOR, "[role=option]")
    assert options and options[0].find_element(By.CSS_SELECTOR, ".code").text.startswith("C29")
    screenshot(session, "industry-finder")
    finder.send_keys(Keys.ARROW_DOWN)
    active = finder.get_attribute("aria-activedescendant")
    assert active == options[0].get_attribute("id")
    assert options[0].get_attribute("aria-selected") == "true"
    code = options[0].find_element(By.CSS_SELECTOR, ".code").text
    finder.send_keys(Keys.ENTER)
    assert session.current_url.rstrip("/") == live["url"], "Enter in the list must not send the form"
    assert (
        Select(session.find_element(By.ID, "industry")).first_selected_option.get_attribute("value") == code
    )
    assert code.startswith("C29")
    assert not listbox.is_displayed() and finder.get_attribute("aria-expanded") == "false"
    assert "已选择" in session.find_element(By.ID, "industry-finder-status").text
    assert finder.get_attribute("value").startswith(code)

    finder.clear()
    finder.send_keys("汽车零部件")
    WebDriverWait(session, 10).until(lambda d: listbox.is_displayed() and "C3670" in listbox.text)
    finder.send_keys(Keys.ESCAPE)
    assert not listbox.is_displayed()
    Select(session.find_element(By.ID, "industry")).select_by_value("C3670")
    assert finder.get_attribute("value").startswith("C3670"), "a choice made in the list shows in the box"

    phone(session)
    session.get(live["url"] + "/")
    finder = session.find_element(By.ID, "industry-finder")
    finder.send_keys("塑料")
    listbox = session.find_element(By.ID, "industry-finder-list")
    WebDriverWait(session, 10).until(lambda d: listbox.is_displayed())
    assert all(o.text.startswith("C") for o in listbox.find_elements(By.CSS_SELECTOR, "[role=option]"))
    right = session.execute_script("return arguments[0].getBoundingClientRect().right", listbox)
    assert right <= 390, f"the list reaches {right} px on a 390 px screen"

    session.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    sign_in(session, live["url"], live["emails"]["provider"])
    session.get(live["url"] + "/provider/solutions/new")
    finder = session.find_element(By.ID, "industries-finder")
    listbox = session.find_element(By.ID, "industries-finder-list")
    for query, code in (("汽车零部件", "C3670"), ("注塑", "C2929")):
        finder.send_keys(query)
        WebDriverWait(session, 10).until(lambda d, code=code: listbox.is_displayed() and code in listbox.text)
        finder.send_keys(Keys.ARROW_DOWN, Keys.ENTER)
        assert finder.get_attribute("value") == "", "a multiple picker is ready for the next entry"
    picked = Select(session.find_element(By.ID, "industries")).all_selected_options
    assert sorted(option.get_attribute("value") for option in picked) == ["C2929", "C3670"]
    sign_out(session)


def test_the_city_office_bulk_enrols_from_an_xlsx_and_the_dashboard_changes(session, live):
    import openpyxl
    from selenium.webdriver.common.by import By

    client = live["app"].test_client()
    newcomer_id, headers = enterprise_account(client, name="苏州新塑精密科技有限公司", industry="C2929")
    newcomer = client.get(f"/api/v1/enterprises/{newcomer_id}", headers=headers).json
    workbook = openpyxl.Workbook()
    workbook.active.append(["统一社会信用代码", "企业名称", "细分行业"])
    workbook.active.append([newcomer["credit_code"], newcomer["name"], "注塑制品"])
    sheet = live["folder"] / "苏州规上名录.xlsx"
    workbook.save(sheet)

    sign_in(session, live["url"], live["emails"]["office"])
    assert "已纳入 1 家" in session.find_element(By.ID, "total-title").text
    assert "还需 1 家" in session.find_element(By.TAG_NAME, "main").text
    follow(session, session.find_element(By.LINK_TEXT, "从表格批量纳入企业"))
    assert session.find_element(By.TAG_NAME, "h1").text == "从表格批量纳入企业"
    session.find_element(By.ID, "file").send_keys(str(sheet))
    follow(session, session.find_element(By.XPATH, "//button[text()='上传并预览']"))
    row = session.find_element(By.ID, "row-2")
    assert newcomer["name"] in row.text and "将纳入" in row.text
    screenshot(session, "city-enrolment-preview")
    follow(session, session.find_element(By.CSS_SELECTOR, "form.import-form button"))
    assert session.current_url.endswith("/city")
    assert "新纳入 1 家企业" in session.find_element(By.CSS_SELECTOR, ".notice").text
    assert "已纳入 2 家" in session.find_element(By.ID, "total-title").text
    assert "0/2 家达到二级及以上（0%），目标 90%，还需 2 家" in session.find_element(By.TAG_NAME, "main").text
    screenshot(session, "city-after-bulk-enrolment")
    sign_out(session)
