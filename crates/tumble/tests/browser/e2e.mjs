// End to end, in Debian's chromium: node e2e.mjs URL OUT_DIR CYCLE.json BROKEN.json
// PLAYWRIGHT_CORE is the absolute path of playwright-core's index.mjs.
const { chromium } = await import(process.env.PLAYWRIGHT_CORE);
const [url, out, cycleFile, brokenFile] = process.argv.slice(2);

const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); console.log(`${ok ? "ok  " : "FAIL"} ${what}`); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const errors = [];
page.on("pageerror", (e) => errors.push(e.message));
page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
const shot = (name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
const text = (sel) => page.locator(sel).innerText();
const until = async (what, fn, ms = 15000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return check(true, what);
    await page.waitForTimeout(50);
  }
  check(false, what);
};
const outputStates = () => page.locator("#outputs .state").allInnerTexts();

try {
  await page.goto(url);
  await until("connects to the controller", async () => (await page.locator("#conn.connected").count()) === 1);
  await until("lists the board's outputs", async () => (await outputStates()).length === 8);
  check(await page.locator("#start-btn").isDisabled(), "Start is disabled with no cycle anywhere");

  await page.setInputFiles("#file", cycleFile);
  await until("summary shows 1,604 events, 1,600 in the wash", async () => {
    const cards = await text("#cards");
    return cards.includes("1,604") && cards.includes("2: 1,600");
  });
  const drawn = await page.evaluate(() => {
    const c = document.getElementById("timeline");
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let blue = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 150 && d[i] < 80 && d[i + 1] < 120) blue++;
    return blue;
  });
  check(drawn > 2000, `the timeline shows ON intervals (${drawn} bar pixels)`);
  check((await page.locator("#phase-list li").count()) === 3, "three phases listed");
  await shot("1-loaded");

  await page.click("#start-btn");
  await until("the cycle runs", async () => (await text("#run-status")).startsWith("Running"));
  const playhead = async () => Number(await page.locator("#timeline").getAttribute("data-playhead-ms"));
  await until("an output turns ON", async () => (await outputStates()).includes("ON"));
  const p1 = await playhead();
  await page.waitForTimeout(400);
  const p2 = await playhead();
  check(p2 > p1, `the playhead moves (${p1} → ${p2} ms)`);
  await until("the fill ends on its sensor and the wash starts", async () => (await text("#run-status")).includes("phase 2 of 3"));
  await until("the log says the fill ended by its sensor", async () => (await text("#log")).includes("phase 1 'Fill' ended by its sensor"));
  await until("the motor switches", async () => {
    const a = await outputStates();
    await page.waitForTimeout(120);
    return JSON.stringify(a) !== JSON.stringify(await outputStates());
  });
  await shot("2-running");

  await page.click("#skip-btn");
  await until("skip moves to the drain", async () => (await text("#run-status")).includes("phase 3 of 3"));
  await page.click("#pause-btn");
  await until("pause holds the phase with every output OFF", async () =>
    (await text("#run-status")).startsWith("Paused") && (await outputStates()).every((s) => s === "OFF"));
  await page.click("#pause-btn");
  await until("resume restores the drain pump", async () =>
    (await text("#run-status")).startsWith("Running") && (await outputStates()).includes("ON"));
  await page.locator("#phase-list li").nth(1).getByRole("button", { name: /jump/i }).click();
  await until("a click on a phase jumps back to it", async () => (await text("#run-status")).includes("phase 2 of 3"));

  await page.click("#stop-btn");
  await page.click("#stop-confirm");
  await until("stop leaves every output OFF", async () =>
    (await text("#run-status")).startsWith("Idle") && (await outputStates()).every((s) => s === "OFF"));
  await until("the stopped run is in the history", async () => (await text("#history")).includes("stopped"));
  await shot("3-stopped");

  await page.fill("#delay-min", "1");
  await page.click("#start-btn");
  await until("a delayed start waits, and says for how long", async () =>
    (await text("#run-status")).startsWith("Scheduled: starts in"));
  await until("then starts by itself (1 min at 100x)", async () => (await text("#run-status")).startsWith("Running"));
  await page.fill("#delay-min", "0");
  await page.click("#stop-btn");
  await page.click("#stop-confirm");
  await until("and stops again", async () => (await text("#run-status")).startsWith("Idle"));

  await page.locator("#outputs button").first().click();
  await until("a manual toggle works when idle", async () => (await outputStates())[0] === "ON");
  await page.locator("#outputs button").first().click();

  await page.setInputFiles("#file", brokenFile);
  await until("a broken file shows its path", async () =>
    (await text("#problems")).includes("phases[2].components[0].duration"));
  check((await page.locator("#phase-list li.error").count()) === 1, "the offending phase is highlighted");
  check((await page.locator("#editor fieldset.error").count()) === 1, "the offending component is outlined in the editor");
  check(await page.locator("#start-btn").isDisabled(), "a refused cycle cannot be started");
  await shot("4-broken");

  const original = await import("node:fs").then((fs) => fs.readFileSync(cycleFile.replace("wash-1600.json", "original-example.json"), "utf8"));
  await page.click("#paste-btn");
  await page.fill("#paste-text", original);
  await page.click("#paste-load");
  await until("a pasted cycle loads", async () => (await text("#cards")).includes("184") && (await text("#cards")).includes("53.5 s"));
  await page.locator("#phase-list li").first().getByRole("button", { name: /edit/i }).click();
  await page.locator('#editor input[data-field="startTime"]').first().fill("5000");
  await until("an edit redraws at once: 5 s more", async () => (await text("#cards")).includes("58.5 s"));
  await page.locator('#editor input[aria-label="step 1 stepTime"]').fill("400");
  await until("a pattern edit changes the phase length", async () => (await text("#phase-list")).includes("55.5 s"));
  await shot("5-edited");

  await until("the controller offers its templates", async () =>
    (await page.locator("#template option").count()) === 6);
  await page.selectOption("#template", { label: "Cotton 60" });
  await until("a template loads with no error: Cotton 60, nine phases", async () =>
    (await page.locator("#phase-list li").count()) === 9 && (await text("#problems")).trim() === "" &&
    (await text("#phase-list")).includes("Fill hot"));
  await shot("6-template");

  // The library: save the template as a program, reload the page, load it back by name.
  page.once("dialog", (d) => d.accept("My Cotton"));
  await page.click("#save-program-btn");
  await until("the program is in the controller's library", async () =>
    (await page.locator("#program option").allInnerTexts()).includes("My Cotton"));
  await page.reload();
  await until("after a reload the library lists it", async () =>
    (await page.locator("#program option").allInnerTexts()).includes("My Cotton"));
  await page.selectOption("#program", { label: "My Cotton" });
  await until("loading it by name puts Cotton 60 on the controller and the page", async () =>
    (await page.locator("#phase-list li").count()) === 9 && (await text("#log")).includes("loaded program 'My Cotton'"));
  await shot("6b-library");

  // The designer: a three-phase cycle from nothing, with the page's controls only.
  await page.click("#new-btn");
  const editor = (sel) => page.locator(`#editor ${sel}`);
  await editor('button:text-is("Add output")').click();
  await editor('fieldset[data-component="0.0"] select').selectOption("Cold Valve");
  await editor('fieldset[data-component="0.0"] input[data-field="duration"]').fill("20000");
  await editor('button[aria-label="Add after phase 1"]').click();
  await editor('button:text-is("Add motor pattern")').click();
  await editor('button[aria-label="Add after phase 2"]').click();
  await editor('button:text-is("Add output")').click();
  await editor('fieldset[data-component="2.0"] select').selectOption("Drain Pump");
  await until("three phases built from an empty page, accepted by the controller", async () =>
    (await page.locator("#phase-list li").count()) === 3 && (await text("#problems")).trim() === "" &&
    (await text("#cards")).includes("3"));
  // Undo takes the last edit back, redo puts it again.
  await page.keyboard.press("Control+z");
  const drain = () => editor('fieldset[data-component="2.0"] select').inputValue();
  await until("undo: the last component switches its first output again", async () => (await drain()) !== "Drain Pump");
  await page.keyboard.press("Control+z");
  await until("undo again: the component is gone", async () => (await editor('fieldset[data-component="2.0"]').count()) === 0);
  await page.keyboard.press("Control+Shift+z");
  await page.keyboard.press("Control+Shift+z");
  await until("redo twice: the drain pump is back", async () => (await drain()) === "Drain Pump");
  await shot("8-designed");
  page.once("dialog", (d) => d.accept("Built here"));
  await page.click("#save-program-btn");
  await until("saved in the library", async () =>
    (await page.locator("#program option").allInnerTexts()).includes("Built here"));
  await page.reload();
  await until("listed after a reload", async () =>
    (await page.locator("#program option").allInnerTexts()).includes("Built here"));
  await page.selectOption("#program", { label: "Built here" });
  await until("loaded by name", async () => (await page.locator("#phase-list li").count()) === 3);
  await page.fill("#delay-min", "1");
  await page.click("#start-btn");
  await until("it runs after its delay and to its end", async () => (await text("#history")).includes("Built here · completed"), 30000);
  check((await text("#history")).includes(" L"), "the history says the water it took");
  await page.fill("#delay-min", "0");
  await shot("9-history");

  await page.setViewportSize({ width: 390, height: 844 });
  await page.setInputFiles("#file", cycleFile);
  await page.waitForTimeout(300);
  await shot("7-phone");
  check(errors.length === 0, `no errors in the page (${errors.join("; ")})`);

  // The token came with the address; the page remembers it for the origin.
  const bare = url.replace(/\?token=[^&]*/, "");
  await page.goto(bare);
  await until("the remembered token lets the page in without it in the address", async () =>
    (await page.locator("#conn.connected").count()) === 1 && (await page.locator("#template option").count()) === 6);
  // A browser that never had it: connected, but told it has no token.
  const stranger = await browser.newPage();
  await stranger.goto(bare);
  const end = Date.now() + 15000;
  let told = false;
  while (!told && Date.now() < end) {
    told = (await stranger.locator("#conn.unauthorized").count()) === 1;
    await stranger.waitForTimeout(50);
  }
  check(told, "a page without the token says so");
} catch (e) {
  check(false, `unexpected: ${e.stack}`);
} finally {
  await browser.close();
}
process.exit(failures.length ? 1 : 0);
