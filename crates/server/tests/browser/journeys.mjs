// The journeys of issue 8 in Debian's headless Chromium (never a downloaded
// browser), against the server that crates/server/tests/web_browser.rs starts.
// Usage: node journeys.mjs CONFIG.json — the harness writes the config.
import { readFileSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const axePath = fileURLToPath(new URL("./vendor/axe.min.js", import.meta.url));
const MISSING = "⟦missing message⟧";
let passed = 0;
let failed = 0;
const checked = new Set();

function check(ok, what) {
  if (ok) { passed += 1; } else { failed += 1; console.error(`FAILED: ${what}`); }
  return ok;
}

rmSync(config.profile, { recursive: true, force: true });
const context = await chromium.launchPersistentContext(config.profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
  viewport: { width: 1280, height: 900 },
  // axe-core is injected into pages whose policy allows only their own scripts.
  bypassCSP: true,
  locale: "zh-CN",
});
context.setDefaultTimeout(15000);
const page = context.pages()[0] ?? await context.newPage();
const base = config.base;

async function login(account) {
  await context.clearCookies();
  await page.goto(`${base}/login`);
  await page.fill("#account", account);
  await page.fill("#password", config.password);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit].primary")]);
  check(!page.url().includes("/login"), `${account} logs in`);
}

async function language() {
  return page.evaluate(() => document.documentElement.lang);
}

async function switchLanguage() {
  await Promise.all([page.waitForNavigation(), page.click("header form[action='/language'] button")]);
}

/** axe-core (WCAG 2 A and AA) and no missing message, on the page as it is now. */
async function audit(name) {
  const text = await page.evaluate(() => document.body.innerText);
  check(!text.includes(MISSING), `${name}: every message is in the catalogue`);
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  for (const v of result.violations) {
    console.error(`  ${name}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
  }
  check(result.violations.length === 0, `${name}: no accessibility violations`);
}

/** Visits a page in both languages, auditing each, and ends in Chinese. */
async function both(path, name) {
  await page.goto(`${base}${path}`);
  check(await language() === "zh-CN", `${name}: Chinese first`);
  await audit(`${name} (zh)`);
  await switchLanguage();
  check(await language() === "en", `${name}: switched to English`);
  check(new URL(page.url()).pathname === new URL(`${base}${path}`).pathname, `${name}: the switch comes back to the page`);
  await audit(`${name} (en)`);
  await switchLanguage();
  checked.add(name);
}

/** The keyboard reaches the skip link first, and it leads to the content. */
async function keyboard(name) {
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement?.className);
  check(first === "skip", `${name}: Tab reaches the skip link first`);
  await page.keyboard.press("Enter");
  const target = await page.evaluate(() => location.hash);
  check(target === "#main", `${name}: the skip link leads to the content`);
}

async function screenshot(file) {
  if (!config.screens) { return; }
  mkdirSync(config.screens_dir, { recursive: true });
  await page.screenshot({ path: `${config.screens_dir}/${file}`, fullPage: false });
}

try {
  // --- The login page, before anyone logs in.
  await context.clearCookies();
  await page.goto(`${base}/login`);
  await audit("login (zh)");
  await switchLanguage();
  await audit("login (en)");
  await switchLanguage();

  // --- A clerk records a shipment; a double submit records it once.
  await login("sender.clerk");
  await both("/enterprise", "enterprise home");
  await page.goto(`${base}/enterprise`);
  await keyboard("enterprise home");
  await page.goto(`${base}/enterprise`);
  await screenshot("enterprise-home.png");
  await both("/record", "record menu");
  await both("/stock", "stock");
  await both("/upload", "upload");
  await both("/account", "account");
  await both(`/lots/${config.demo_lot}`, "lot");
  await screenshot("lot-trace.png");
  await both(`/labels/${config.demo_lot}`, "label");
  for (const kind of ["opening", "extract", "import", "transform", "ship", "receive", "transfer", "export", "adjust", "correction"]) {
    await both(`/record/${kind}`, `form ${kind}`);
  }
  await page.goto(`${base}/record/ship`);
  const shipment = "WB-WEB-0001";
  await page.fill("#f-lot", config.ship_lot);
  await page.fill("#f-mass", "ten tonnes");
  await page.waitForSelector("#err-mass:not(:empty)");
  check((await page.textContent("#err-mass")).includes("12.5 t"), "the mass field explains how a mass is written");
  await page.fill("#f-mass", "1 t");
  await page.fill("#f-to", config.receiver);
  await page.fill("#f-shipment", shipment);
  await page.waitForSelector("#check .ok");
  check(await page.locator("#err-mass").textContent() === "", "the error clears once the mass reads");
  const form = await page.evaluate(() => Object.fromEntries(new FormData(document.querySelector("form.flow-form"))));
  const first = await page.request.post(`${base}/record/ship`, { form });
  const again = await page.request.post(`${base}/record/ship`, { form });
  check(first.status() === 200 && (await first.text()).includes("已记录"), "the shipment is recorded");
  check((await again.text()).includes("没有重复记录"), "a double submit records nothing twice");
  await page.goto(`${base}/enterprise`);

  // --- A CSV with one bad row is refused with that row named, nothing stored.
  const size = async () => (await (await page.request.get(`${base}/api/v1/healthz`)).json()).size;
  const before = await size();
  const csv = [
    "kind,event_time,enterprise,lot,mass,to,shipment",
    `ship,2026-01-05T10:00:00+08:00,${config.sender},${config.ship_lot},0.1 t,${config.receiver},WB-CSV-1`,
    `ship,2026-01-05T11:00:00+08:00,${config.sender},${config.ship_lot},one tonne,${config.receiver},WB-CSV-2`,
    `ship,2026-01-05T12:00:00+08:00,${config.sender},${config.ship_lot},0.1 t,${config.receiver},WB-CSV-3`,
  ].join("\n");
  await page.goto(`${base}/upload`);
  await page.setInputFiles("#upload-file", { name: "flows.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.click("#upload-form button[type=submit]");
  await page.waitForSelector("#report-result");
  const report = await page.textContent("#report-result");
  check(report.includes("第 2 行") && report.includes("质量"), "the bad row is named with its column");
  check(!report.includes("第 1 行") && !report.includes("第 3 行"), "only the bad row is named");
  check(await size() === before, "nothing of the refused file is stored");
  await audit("upload report");

  // --- The receiving clerk confirms the shipment.
  await login("receiver.clerk");
  await page.goto(`${base}/record/receive`);
  await page.fill("#f-lot", config.ship_lot);
  await page.fill("#f-from", config.sender);
  await page.fill("#f-shipment", shipment);
  await page.fill("#f-mass", "1 t");
  await Promise.all([page.waitForNavigation(), page.click("form.flow-form button[type=submit]")]);
  const done = await page.textContent("main");
  check(done.includes("已记录") && done.includes("收货与发货方的发货记录一致"), "the receipt matches the shipment");
  await audit("recorded");

  // --- A province official drills down to a flagged enterprise and opens its flag.
  await login("province.official");
  await both("/region", "region dashboard");
  await screenshot("regulator-dashboard.png");
  await both("/flags", "flags");
  await page.goto(`${base}/region`);
  await Promise.all([page.waitForNavigation(), page.click(`a[href='/region/${config.prefecture}']`)]);
  await Promise.all([page.waitForNavigation(), page.click(`a[href='/region/${config.county}']`)]);
  check((await page.textContent(".crumbs")).length > 0, "the breadcrumbs show where the drill-down is");
  await Promise.all([page.waitForNavigation(), page.click(`a[href='/enterprises/${config.flagged}']`)]);
  await both(`/enterprises/${config.flagged}`, "enterprise page");
  await Promise.all([page.waitForNavigation(), page.locator("a[href^='/flag?key=']").first().click()]);
  check(page.url().includes("/flag?key="), "the flag opens");
  await both(new URL(page.url()).pathname + new URL(page.url()).search, "flag");
  await page.locator("a[href^='/entries/']").first().click();
  await page.waitForURL(/\/entries\//);
  await both(new URL(page.url()).pathname, "entry");

  // --- The county official sees the same enterprise and flag.
  await login("county.official");
  await page.goto(`${base}/region`);
  check(await page.locator(`a[href='/enterprises/${config.flagged}']`).count() === 1, "the county lists the flagged enterprise");
  await page.goto(`${base}/region/${config.province}`);
  check((await page.textContent("h1")).includes("找不到"), "a county official cannot open the province");

  // --- The ministry's designation screen.
  await login("miit.ministry");
  await both("/designations", "designations");

  // --- The public page of a demo lot shows its chain, proven.
  await context.clearCookies();
  await page.goto(`${base}/${config.demo_lot}`);
  check(await page.locator(".verdict-ok").count() === 1, "the public page proves the record intact");
  check(await page.locator("ol.chain li").count() > 0, "the public page shows the chain");
  await audit("public (zh)");
  await screenshot("public-page.png");
  await switchLanguage();
  await audit("public (en)");
  await switchLanguage();

  // --- An auditor verifies a receipt and a consistency proof.
  await login("national.auditor");
  await both("/ledger", "ledger");
  await both("/trail", "trail");
  await page.goto(`${base}/ledger`);
  await page.setInputFiles("#receipt-file", config.receipt_file);
  await page.waitForFunction(() => document.querySelector("#receipt").value.length > 0);
  await Promise.all([page.waitForNavigation(), page.click("form[action='/ledger/receipt'] button")]);
  check((await page.textContent("#receipt-result")).includes("回执有效"), "the auditor's receipt verifies");
  await audit("receipt verified");
  await page.goto(`${base}/ledger?old=${config.old_size}&new=${config.new_size}`);
  check((await page.textContent("#consistency")).includes("一致"), "the consistency proof verifies");
  await page.goto(`${base}/trail?account=sender.clerk`);
  check(await page.locator("table.list tbody tr").count() > 0, "the trail finds the clerk's requests");

  // --- The administrator's pages.
  await login("admin");
  await both("/accounts", "accounts");
  await both("/tokens", "tokens");
  await both("/register", "register");
} catch (error) {
  failed += 1;
  console.error(`FAILED: ${error.stack ?? error}`);
  await page.screenshot({ path: `${config.profile}-failure.png` }).catch(() => {});
  console.error(`  at ${page.url()}`);
} finally {
  await context.close();
}
console.log(`pages checked in both languages: ${[...checked].join(", ")}`);
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
