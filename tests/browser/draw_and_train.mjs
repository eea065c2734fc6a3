// nndl serve's page in a real browser: headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core. Draws digits on the canvas
// with the mouse and checks what the network reads, then trains a small
// network from the page and watches its epochs arrive.
//
//   node draw_and_train.mjs      (from tests/browser, after npm ci)
// Environment: NNDL_CLI (default ../../build/nndl), NNDL_DATA (MNIST),
// CHROMIUM (default /usr/bin/chromium).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const nndl = process.env.NNDL_CLI || resolve(here, '../../build/nndl');
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const scratch = mkdtempSync(join(tmpdir(), 'nndl-browser-'));

let passed = 0;
let failed = 0;
async function test(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name.padEnd(44)} ${((Date.now() - t0) / 1000).toFixed(2)}s  (tests/browser)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name.padEnd(44)} ${((Date.now() - t0) / 1000).toFixed(2)}s  (tests/browser)`);
    console.log('  ' + String(e && e.stack || e).split('\n').slice(0, 4).join('\n  '));
  }
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

// Strokes of each digit, as a hand would draw them: polylines in a unit
// square (x right, y down) that the test maps onto the 280-pixel pad.
function arc(cx, cy, rx, ry, from, to, n = 24) {
  const pts = [];
  for (let i = 0; i <= n; i++) {
    const t = (from + (to - from) * i / n) * Math.PI / 180;
    pts.push([cx + rx * Math.cos(t), cy + ry * Math.sin(t)]);
  }
  return pts;
}
const DIGITS = {
  0: [arc(0.5, 0.5, 0.2, 0.32, -90, 275)],
  1: [[[0.53, 0.17], [0.5, 0.5], [0.47, 0.83]]],
  2: [[...arc(0.5, 0.34, 0.2, 0.17, 200, 370), [0.62, 0.52], [0.3, 0.82], [0.72, 0.82]]],
  3: [[...arc(0.48, 0.33, 0.19, 0.15, 210, 450), ...arc(0.48, 0.66, 0.21, 0.17, 270, 510)]],
  7: [[[0.28, 0.2], [0.72, 0.2], [0.58, 0.5], [0.46, 0.84]]],
};

async function draw(page, strokes) {
  const box = await page.locator('#pad').boundingBox();
  const at = ([x, y]) => [box.x + x * box.width, box.y + y * box.height];
  for (const stroke of strokes) {
    const [x0, y0] = at(stroke[0]);
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    for (const p of stroke.slice(1)) {
      const [x, y] = at(p);
      await page.mouse.move(x, y, { steps: 6 });
    }
    await page.mouse.up();
  }
}

// The same strokes with a finger: touch events through the DevTools
// protocol, which the page sees as pointer events of type "touch".
async function drawByTouch(page, strokes) {
  const box = await page.locator('#pad').boundingBox();
  const cdp = await page.context().newCDPSession(page);
  const at = ([x, y]) => ({ x: box.x + x * box.width, y: box.y + y * box.height });
  for (const stroke of strokes) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [at(stroke[0])] });
    for (let i = 1; i < stroke.length; i++) {
      const [a, b] = [stroke[i - 1], stroke[i]];
      for (let k = 1; k <= 6; k++) {
        const p = [a[0] + (b[0] - a[0]) * k / 6, a[1] + (b[1] - a[1]) * k / 6];
        await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [at(p)] });
      }
    }
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  }
  await cdp.detach();
}

async function readDigit(page) {
  await page.waitForFunction(() => {
    const d = document.getElementById('digit');
    return d.getAttribute('aria-busy') === 'false' && d.textContent !== '?';
  }, null, { timeout: 10000 });
  return page.locator('#digit').textContent();
}

// ---- set-up: a trained network and a server on a free port ----

const model = join(scratch, 'model.nndl');
const train = spawnSync(nndl, ['train', '--sizes', '784,100,10', '--epochs', '10',
  '--cost', 'cross-entropy', '--eta', '0.5', '--lambda', '5', '--eval', 'none', '--save', model],
  { encoding: 'utf8' });
if (train.status !== 0) {
  console.log(train.stderr.trim());
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const server = spawn(nndl, ['serve', '--port', '0', model], { stdio: ['ignore', 'pipe', 'pipe'] });
let serverErr = '';
server.stderr.on('data', (chunk) => { serverErr += chunk; });
const url = await new Promise((ok, fail) => {
  let out = '';
  server.stdout.on('data', (chunk) => {
    out += chunk;
    const m = out.match(/(http:\/\/\S+\/)/);
    if (m) ok(m[1]);
  });
  server.on('exit', (code) => fail(new Error(`nndl serve exited with ${code}: ${serverErr.trim()}`)));
  setTimeout(() => fail(new Error('nndl serve did not start in 10 s')), 10000);
});

const browser = await chromium.launch({ executablePath: browserPath, args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));

await test('browser_page_loads_with_the_model', async () => {
  await page.goto(url);
  await page.waitForFunction(() => document.querySelectorAll('#model option').length === 1);
  const option = await page.locator('#model option').textContent();
  check(/^model\.nndl \[784,100,10\] 9\d\.\d\d%$/.test(option), `model menu: ${option}`);
  const info = await page.locator('#model-info').textContent();
  check(/^9\d\.\d\d% on the 10,000 test images; 79,510 weights and biases/.test(info), `under the menu: ${info}`);
  check((await page.locator('#bars .bar').count()) === 10, 'ten probability bars');
});

// Whether every entry of the network menu shows whole in the select: its
// text measured in the select's font, plus the select's padding and arrow.
async function menuCutOff(p) {
  return p.evaluate(() => {
    const select = document.getElementById('model');
    const style = getComputedStyle(select);
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 24;
    return [...select.options].map((o) => ({ text: o.text, width: ctx.measureText(o.text).width, room }))
      .filter((o) => o.width > o.room);
  });
}

await test('browser_menu_shows_whole_at_1200_px', async () => {
  const cut = await menuCutOff(page);
  check(cut.length === 0, `cut off: ${JSON.stringify(cut)}`);
});

// The pixels of the pad at (x, y) in its own coordinates: 0 is ink.
async function padLevel(p, x, y) {
  return p.evaluate(([px, py]) => document.getElementById('pad').getContext('2d').getImageData(px, py, 1, 1).data[0], [x, y]);
}

await test('browser_click_draws_a_dot_and_reads_it', async () => {
  await page.click('#clear');
  const box = await page.locator('#pad').boundingBox();
  await page.mouse.click(box.x + box.width * 0.4, box.y + box.height * 0.6);
  check((await padLevel(page, 112, 168)) < 50, 'no ink under the click');
  const read = await readDigit(page);
  check(/^\d$/.test(read), `a click is read as ${read}`);
  check(!/no ink/.test(await page.locator('#message').textContent()), 'the page says no ink');
});

// A fresh page, watched from its first request: loading, a click, two
// digits drawn and the pad cleared between them leave nothing in the
// console and get no error from the server (the page used to ask for a
// favicon that is not there, and to post the blank pad at every stroke's
// start, which the server answers with 422).
await test('browser_console_stays_clean_while_drawing', async () => {
  const clean = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems = [];
  clean.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
  clean.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
  clean.on('pageerror', (e) => problems.push(String(e)));
  await clean.goto(url);
  await clean.waitForFunction(() => document.querySelectorAll('#model option').length === 1);
  const box = await clean.locator('#pad').boundingBox();
  await clean.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await readDigit(clean);
  await clean.click('#clear');
  await draw(clean, DIGITS[7]);
  check((await readDigit(clean)) === '7', 'reads the 7');
  await clean.click('#clear');
  await draw(clean, DIGITS[3]);
  await readDigit(clean);
  await clean.waitForTimeout(300); // a last request on its way
  await clean.close();
  check(problems.length === 0, problems.join('; '));
});

for (const [digit, strokes] of Object.entries(DIGITS)) {
  await test(`browser_draws_and_reads_a_${digit}`, async () => {
    await page.click('#clear');
    check((await page.locator('#digit').textContent()) === '?', 'cleared pad shows ?');
    await draw(page, strokes);
    const read = await readDigit(page);
    check(read === digit, `drew a ${digit}, the page says ${read}`);
    // the bar of the answer is the longest, and the 28x28 image has ink
    const widths = await page.$$eval('#bars .bar', (bars) => bars.map((b) => parseFloat(b.style.width)));
    check(widths.indexOf(Math.max(...widths)) === Number(digit), `bars ${widths}`);
    const ink = await page.evaluate(() => {
      const data = document.getElementById('seen').getContext('2d').getImageData(0, 0, 28, 28).data;
      let sum = 0;
      for (let i = 0; i < data.length; i += 4) sum += data[i];
      return sum / 255;
    });
    check(ink > 30 && ink < 400, `ink in the 28x28 image: ${ink}`);
    check((await page.locator('#hidden span').count()) === 100, 'one square per hidden neuron');
  });
}

await test('browser_draws_with_a_finger', async () => {
  const touchPage = await browser.newPage({ viewport: { width: 800, height: 900 }, hasTouch: true });
  touchPage.on('pageerror', (e) => pageErrors.push(String(e)));
  await touchPage.goto(url);
  await touchPage.waitForFunction(() => document.querySelectorAll('#model option').length >= 1);
  await drawByTouch(touchPage, DIGITS[7]);
  const read = await readDigit(touchPage);
  await touchPage.close();
  check(read === '7', `drew a 7 by touch, the page says ${read}`);
});

await test('browser_clear_empties_the_answer', async () => {
  await page.click('#clear');
  check((await page.locator('#digit').textContent()) === '?', 'digit reset');
  check((await page.locator('#hidden span').count()) === 0, 'hidden neurons cleared');
});

await test('browser_trains_and_plots_each_epoch', async () => {
  await page.fill('input[name=hidden]', '20');
  await page.fill('input[name=epochs]', '4');
  await page.fill('input[name=train_size]', '5000');
  await page.click('#train');
  await page.waitForFunction(() => /done/.test(document.getElementById('train-status').textContent),
    null, { timeout: 60000 });
  check((await page.locator('#curve circle').count()) === 4, 'four points on the curve');
  const status = await page.locator('#train-status').textContent();
  check(/Run 1 done: \d+\.\d\d% on the validation images/.test(status), status);
  // the trained network joined the menu and is selected
  check((await page.locator('#model option').count()) === 2, 'two models');
  check((await page.locator('#model').inputValue()) === '1', 'the new model is selected');
  await draw(page, DIGITS[1]);
  check((await readDigit(page)) === '1', 'the new network reads a 1');
});

// NNDL_SCREENSHOT=FILE: a picture of the page with a digit drawn and a run's
// curve (docs/images/serve.png is made this way).
if (process.env.NNDL_SCREENSHOT) {
  await page.selectOption('#model', '0');
  await page.click('#clear');
  await draw(page, DIGITS[3]);
  await readDigit(page);
  await page.screenshot({ path: process.env.NNDL_SCREENSHOT, fullPage: true });
}

await test('browser_shows_server_errors', async () => {
  await page.fill('input[name=epochs]', '0'); // the form's min is 1; the server says why too
  await page.evaluate(() => { document.getElementById('train-form').noValidate = true; });
  await page.click('#train');
  await page.waitForFunction(() => /epochs/.test(document.getElementById('train-status').textContent));
  check(!(await page.locator('#train').isDisabled()), 'button enabled again');
});

// A convolutional network: the page shows its first layer's feature maps.
await test('browser_shows_a_conv_model_s_feature_maps', async () => {
  const convModel = join(scratch, 'conv.nndl');
  const trained = spawnSync(nndl, ['train', '--layers', 'conv:6:5,pool:2,fc:30,softmax:10',
    '--activation', 'relu', '--eta', '0.1', '--epochs', '1', '--train-size', '10000',
    '--eval', 'none', '--save', convModel], { encoding: 'utf8' });
  check(trained.status === 0, trained.stderr);
  const convServer = spawn(nndl, ['serve', '--port', '0', convModel],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const convUrl = await new Promise((ok, fail) => {
      let out = '';
      convServer.stdout.on('data', (chunk) => {
        out += chunk;
        const m = out.match(/(http:\/\/\S+\/)/);
        if (m) ok(m[1]);
      });
      convServer.on('exit', (code) => fail(new Error(`nndl serve exited with ${code}`)));
      setTimeout(() => fail(new Error('nndl serve did not start in 10 s')), 10000);
    });
    const convPage = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    convPage.on('pageerror', (e) => pageErrors.push(String(e)));
    await convPage.goto(convUrl);
    await convPage.waitForFunction(() => document.querySelectorAll('#model option').length === 1);
    const option = await convPage.locator('#model option').textContent();
    check(/^conv\.nndl \(convolutional\)/.test(option), `model menu: ${option}`);
    const info = await convPage.locator('#model-info').textContent();
    check(/^conv:6:5:relu,pool:2,fc:30:relu,softmax:10: /.test(info), `under the menu: ${info}`);
    const cut = await menuCutOff(convPage);
    check(cut.length === 0, `cut off: ${JSON.stringify(cut)}`);
    await draw(convPage, DIGITS[7]);
    const read = await readDigit(convPage);
    check(read === '7', `drew a 7, the page says ${read}`);
    check((await convPage.locator('#hidden canvas.map').count()) === 6, 'one picture per map');
    check(/Feature maps/.test(await convPage.locator('#hidden-title').textContent()), 'title');
    if (process.env.NNDL_SCREENSHOT_CONV)
      await convPage.screenshot({ path: process.env.NNDL_SCREENSHOT_CONV, fullPage: true });
    await convPage.close();
  } finally {
    convServer.removeAllListeners('exit');
    convServer.kill('SIGTERM');
  }
});

await test('browser_no_script_errors', async () => {
  check(pageErrors.length === 0, pageErrors.join('; '));
});

await browser.close();
await test('browser_server_stops_cleanly', async () => {
  const code = await new Promise((ok) => {
    server.removeAllListeners('exit');
    server.on('exit', (c) => ok(c));
    server.kill('SIGTERM');
  });
  check(code === 0, `nndl serve exited with ${code}`);
  check(/terminated: stopping/.test(serverErr), `its stderr: ${serverErr}`);
});
rmSync(scratch, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
