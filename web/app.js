// nndl serve's page: draw on #pad, POST the drawing to /api/predict as a
// PNG while drawing, show the answer; start training runs and plot their
// epochs as they stream in (server-sent events).
'use strict';

const $ = (id) => document.getElementById(id);
const pad = $('pad');
const ctx = pad.getContext('2d');
const INK_WIDTH = 20; // pixels of the 280-pixel pad: MNIST's strokes are about 1/10 of the digit's box

// ---- drawing ----

let drawing = false;
let hasInk = false;
let last = null;

function clearPad() {
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, pad.width, pad.height);
  hasInk = false;
  showNothing('Draw a digit in the box.');
}

function padPoint(event) {
  const r = pad.getBoundingClientRect();
  return { x: (event.clientX - r.left) * pad.width / r.width,
           y: (event.clientY - r.top) * pad.height / r.height };
}

// A touch of the pen: a round dot, so that a click leaves ink (a line from
// a point to itself draws nothing) and the first request of a stroke has
// something to read.
function dot(p) {
  ctx.fillStyle = '#000';
  ctx.beginPath();
  ctx.arc(p.x, p.y, INK_WIDTH / 2, 0, 2 * Math.PI);
  ctx.fill();
  hasInk = true;
  requestPrediction();
}

function stroke(from, to) {
  if (from.x === to.x && from.y === to.y) return;
  ctx.strokeStyle = '#000';
  ctx.lineWidth = INK_WIDTH;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.beginPath();
  ctx.moveTo(from.x, from.y);
  ctx.lineTo(to.x, to.y);
  ctx.stroke();
  hasInk = true;
  requestPrediction();
}

pad.addEventListener('pointerdown', (e) => {
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  drawing = true;
  last = padPoint(e);
  dot(last);
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  const p = padPoint(e);
  stroke(last, p);
  last = p;
});
for (const type of ['pointerup', 'pointercancel']) {
  pad.addEventListener(type, () => { drawing = false; });
}
$('clear').addEventListener('click', clearPad);

// ---- predicting ----

let inFlight = false;
let again = false;

function setBusy(busy) {
  inFlight = busy;
  $('digit').setAttribute('aria-busy', busy ? 'true' : 'false');
}

function requestPrediction() {
  if (!hasInk) return; // a blank pad has nothing to read (the server would say 422)
  if (inFlight) { again = true; return; }
  setBusy(true);
  again = false;
  pad.toBlob(async (png) => {
    try {
      await predict(png);
    } finally {
      setBusy(false);
      if (again && hasInk) requestPrediction();
    }
  }, 'image/png');
}

async function predict(png) {
  const model = $('model').value;
  if (model === '') { showNothing('No network yet: start one with nndl serve MODEL, or train one below.'); return; }
  const response = await fetch('/api/predict?model=' + encodeURIComponent(model), {
    method: 'POST', headers: { 'Content-Type': 'image/png' }, body: png });
  const answer = await response.json();
  if (!hasInk) return; // cleared while the request was on its way
  if (!response.ok) { showNothing(answer.error || response.statusText); return; }
  showAnswer(answer);
}

function buildBars() {
  const bars = $('bars');
  for (let d = 0; d < 10; d++) {
    const label = document.createElement('span');
    label.textContent = d;
    const track = document.createElement('div');
    track.setAttribute('role', 'listitem');
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.id = 'bar-' + d;
    track.appendChild(bar);
    const pct = document.createElement('span');
    pct.className = 'pct';
    pct.id = 'pct-' + d;
    bars.append(label, track, pct);
  }
}

function showNothing(message) {
  $('digit').textContent = '?';
  for (let d = 0; d < 10; d++) {
    $('bar-' + d).style.width = '0';
    $('bar-' + d).classList.remove('best');
    $('pct-' + d).textContent = '';
  }
  $('seen').getContext('2d').clearRect(0, 0, 28, 28);
  $('hidden').replaceChildren();
  $('message').textContent = message;
}

// One feature map as a small picture: the more active, the darker
// (scaled to the map's own largest activation).
function featureMap(map) {
  const canvas = document.createElement('canvas');
  canvas.width = map.width;
  canvas.height = map.height;
  canvas.className = 'map';
  const top = Math.max(1e-6, ...map.values);
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(map.width, map.height);
  map.values.forEach((v, i) => {
    const g = Math.round(255 * (1 - Math.max(0, v) / top));
    img.data.set([g, g, g, 255], 4 * i);
  });
  ctx.putImageData(img, 0, 0);
  canvas.title = `largest activation ${top.toFixed(3)}`;
  return canvas;
}

function showAnswer(a) {
  $('digit').textContent = a.digit;
  a.probabilities.forEach((p, d) => {
    const bar = $('bar-' + d);
    bar.style.width = (100 * p).toFixed(1) + '%';
    bar.classList.toggle('best', d === a.digit);
    $('pct-' + d).textContent = (100 * p).toFixed(1) + '%';
  });
  // the input as the network saw it: ink white on black, as in MNIST
  const seen = $('seen').getContext('2d');
  const img = seen.createImageData(28, 28);
  a.input.forEach((v, i) => {
    const g = Math.round(255 * v);
    img.data.set([g, g, g, 255], 4 * i);
  });
  seen.putImageData(img, 0, 0);
  const note = a.warning || ''; // several digits drawn side by side
  if (a.maps) {
    $('hidden-title').textContent = 'Feature maps of the first convolutional layer';
    $('hidden').replaceChildren(...a.maps.map(featureMap));
    $('message').textContent = note;
    return;
  }
  $('hidden-title').textContent = 'Hidden neurons';
  const cells = [];
  for (const layer of a.hidden) {
    for (const v of layer) {
      const cell = document.createElement('span');
      // the more active, the more of the accent colour (0: white, 1: full)
      cell.style.background = `rgba(36, 99, 235, ${Math.max(0, Math.min(1, v)).toFixed(3)})`;
      cell.title = v.toFixed(3);
      cells.push(cell);
    }
  }
  $('hidden').replaceChildren(...cells);
  $('message').textContent = note;
}

// ---- models ----

async function loadModels(select) {
  const response = await fetch('/api/models');
  const { models } = await response.json();
  const menu = $('model');
  const keep = select !== undefined ? String(select) : menu.value;
  menu.replaceChildren(...models.map((m) => {
    const o = document.createElement('option');
    o.value = m.index;
    // short enough for the menu at any width the layout gives it; the
    // layers of a convolutional network and what the accuracy was measured
    // on are spelled out under it (describeModel)
    const acc = m.accuracy ? ` ${(100 * m.accuracy.fraction).toFixed(2)}%` : '';
    o.textContent = `${m.name} ${m.convolutional ? '(convolutional)' : '[' + m.sizes.join(',') + ']'}${acc}`;
    return o;
  }));
  if (models.some((m) => String(m.index) === keep)) menu.value = keep;
  describeModel(models);
  menu.onchange = () => { describeModel(models); if (hasInk) requestPrediction(); };
}

function describeModel(models) {
  const m = models.find((x) => String(x.index) === $('model').value);
  const acc = m && m.accuracy
    ? `${(100 * m.accuracy.fraction).toFixed(2)}% on the ${m.accuracy.total.toLocaleString()} ` +
      `${m.accuracy.data} images; `
    : '';
  $('model-info').textContent = m
    ? (m.convolutional ? `${m.layers}: ` : '') + acc +
      `${m.parameters.toLocaleString()} weights and biases, ${m.activation} neurons, ${m.cost} cost`
    : 'No network loaded: train one below.';
}

// ---- training ----

let points = [];
let totalEpochs = 0;

function plot() {
  const svg = $('curve');
  const W = 360, H = 240, left = 52, right = 10, top = 24, bottom = 36;
  const lo = points.length ? Math.max(0, Math.floor(Math.min(...points.map((p) => p.accuracy)) * 20) / 20) : 0.8;
  const hi = 1;
  const n = Math.max(totalEpochs, 2);
  const x = (e) => left + (W - left - right) * e / (n - 1);
  const y = (a) => top + (H - top - bottom) * (hi - a) / (hi - lo);
  const parts = [];
  const ticks = 5;
  for (let i = 0; i <= ticks; i++) {
    const a = lo + (hi - lo) * i / ticks;
    parts.push(`<line class="grid" x1="${left}" x2="${W - right}" y1="${y(a)}" y2="${y(a)}"/>`,
               `<text x="${left - 6}" y="${y(a) + 4}" text-anchor="end">${(100 * a).toFixed(1)}%</text>`);
  }
  const step = Math.max(1, Math.ceil(n / 10));
  for (let e = 0; e < n; e += step) {
    parts.push(`<text x="${x(e)}" y="${H - bottom + 16}" text-anchor="middle">${e}</text>`);
  }
  parts.push(`<line class="axis" x1="${left}" x2="${left}" y1="${top}" y2="${H - bottom}"/>`,
             `<line class="axis" x1="${left}" x2="${W - right}" y1="${H - bottom}" y2="${H - bottom}"/>`,
             `<text x="${(left + W - right) / 2}" y="${H - 4}" text-anchor="middle">epoch</text>`,
             `<text x="${left}" y="12" text-anchor="start">accuracy on the 10,000 validation images</text>`);
  if (points.length) {
    parts.push(`<polyline class="line" points="${points.map((p) => `${x(p.epoch)},${y(p.accuracy)}`).join(' ')}"/>`);
    for (const p of points) parts.push(`<circle cx="${x(p.epoch)}" cy="${y(p.accuracy)}" r="3"><title>epoch ${p.epoch}: ${(100 * p.accuracy).toFixed(2)}%</title></circle>`);
  }
  svg.innerHTML = parts.join('');
}

$('train-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const recipe = {};
  for (const [k, v] of form.entries()) recipe[k] = k === 'cost' ? v : Number(v);
  const button = $('train');
  const status = $('train-status');
  button.disabled = true;
  status.textContent = 'Starting…';
  const response = await fetch('/api/train', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(recipe) });
  const answer = await response.json();
  if (!response.ok) {
    status.textContent = answer.error || response.statusText;
    button.disabled = false;
    return;
  }
  points = [];
  totalEpochs = recipe.epochs;
  plot();
  status.textContent = `Run ${answer.id}: loading MNIST and starting…`;
  const events = new EventSource(answer.events);
  events.addEventListener('epoch', (m) => {
    const ep = JSON.parse(m.data);
    points.push(ep);
    plot();
    status.textContent = `Run ${answer.id}: epoch ${ep.epoch + 1} of ${ep.epochs}: ` +
      `${ep.correct} / ${ep.total} validation images (${(100 * ep.accuracy).toFixed(2)}%), ` +
      `${ep.seconds.toFixed(2)} s`;
  });
  events.addEventListener('done', async (m) => {
    events.close();
    const done = JSON.parse(m.data);
    button.disabled = false;
    status.textContent = `Run ${answer.id} done: ${(100 * done.accuracy).toFixed(2)}% on the validation images.` +
      (done.model !== null ? ' It is now in the Network menu.' : '');
    if (done.model !== null) await loadModels(done.model);
    if (hasInk) requestPrediction();
  });
  const fail = (m) => {
    events.close();
    button.disabled = false;
    let why = 'the connection to the server was lost';
    try { why = JSON.parse(m.data).error; } catch (_) { /* a dropped connection has no data */ }
    status.textContent = `Run ${answer.id} stopped: ${why}`;
  };
  events.addEventListener('error', fail);
});

buildBars();
clearPad();
plot();
loadModels().then(() => showNothing($('model').value === '' ? 'No network loaded: train one below.' : 'Draw a digit in the box.'));
