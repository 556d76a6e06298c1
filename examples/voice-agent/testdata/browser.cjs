// Drives the web page in Debian's chromium, headless, with a fake
// microphone playing a WAV file: presses Talk, waits until the page shows
// the given number of answered turns, saves a screenshot, presses Stop, and
// prints what the page showed as one JSON object on stdout.
//
//   NODE_PATH=.../node_modules node browser.cjs PAGE_URL WAV SCREENSHOT TURNS TIMEOUT_MS
//
// Run by TestLiveWebPageInChromium (web_browser_test.go), which makes the
// WAV and checks the result. puppeteer-core comes from scripts/setup.sh.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');

const [pageURL, wav, screenshot, turnsArg, timeoutArg] = process.argv.slice(2);
const turns = Number(turnsArg);
const timeoutMs = Number(timeoutArg);

// What a person sees, read from the DOM.
function snapshot() {
  const state = document.getElementById('agent-state');
  return {
    status: document.getElementById('status').textContent,
    state: state.dataset.state,
    talkEnabled: !document.getElementById('talk').disabled,
    stopEnabled: !document.getElementById('stop').disabled,
    messages: [...document.querySelectorAll('#conversation .message')].map((m) => ({
      speaker: m.dataset.speaker,
      label: m.querySelector('.speaker').textContent,
      identity: m.dataset.identity,
      text: m.querySelector('.text').textContent,
      final: m.dataset.final === 'true',
      grey: m.querySelector('.text').classList.contains('interim'),
    })),
    turns: [...document.querySelectorAll('#turns li')].map((li) => ({
      latencyMs: Number(li.dataset.latencyMs),
      voiceEnd: Number(li.dataset.voiceEnd),
      answerStart: Number(li.dataset.answerStart),
      text: li.textContent,
    })),
    states: window.__states || [],
    levelMax: window.__levelMax || 0,
    interimSeen: window.__interim || [],
  };
}

// Records every state the page shows, with its time (performance.now(),
// the clock of the page's turn timings), the agent level bar's highest,
// and the interim (grey) texts shown.
function observe() {
  window.__states = [];
  window.__levelMax = 0;
  window.__interim = [];
  new MutationObserver(() => {
    for (const m of document.querySelectorAll('#conversation .message')) {
      const text = m.querySelector('.text');
      if (!text.classList.contains('interim') || !text.textContent) continue;
      const seen = { speaker: m.dataset.speaker, text: text.textContent };
      if (!window.__interim.some((s) => s.speaker === seen.speaker && s.text === seen.text)) window.__interim.push(seen);
    }
  }).observe(document.getElementById('conversation'), { attributes: true, childList: true, characterData: true, subtree: true });
  const state = document.getElementById('agent-state');
  new MutationObserver(() => {
    const s = state.dataset.state;
    const last = window.__states[window.__states.length - 1];
    if (!last || last.state !== s) window.__states.push({ state: s, at: performance.now() });
  }).observe(state, { attributes: true, childList: true, characterData: true, subtree: true });
  const level = document.getElementById('agent-level');
  new MutationObserver(() => {
    window.__levelMax = Math.max(window.__levelMax, parseFloat(level.style.width) || 0);
  }).observe(level, { attributes: true });
}

function done(s) {
  const agentFinals = s.messages.filter((m) => m.speaker === 'agent' && m.final).length;
  return s.turns.length >= turns && agentFinals >= turns + 1 && s.state === 'listening' && s.messages.every((m) => m.final);
}

async function main() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lkgo-chromium-'));
  const out = { console: [], timedOut: false };
  const started = Date.now();
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    userDataDir,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}%noloop`,
    ],
  });
  try {
    out.chromium = await browser.version();
    out.args = browser.process().spawnargs.slice(1);
    const page = await browser.newPage();
    await page.setViewport({ width: 900, height: 1000 });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warn') out.console.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => out.console.push(`pageerror: ${e.message}`));
    await page.goto(pageURL, { waitUntil: 'load' });
    await page.evaluate(observe);
    await page.click('#talk'); // a real click: the page may start audio
    out.talkAtMs = Date.now() - started;
    let s;
    for (;;) {
      s = await page.evaluate(snapshot);
      if (done(s)) break;
      if (Date.now() - started > timeoutMs) {
        out.timedOut = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    out.doneAtMs = Date.now() - started;
    // The state says listening when the agent has sent its last audio;
    // the user hears that a little later: screenshot once it is quiet.
    await page
      .waitForFunction(() => !(parseFloat(document.getElementById('agent-level').style.width) > 0), { timeout: 2000 })
      .catch(() => {});
    out.quietAfterDoneMs = Date.now() - started - out.doneAtMs;
    out.shown = await page.evaluate(snapshot);
    await page.screenshot({ path: screenshot, fullPage: true });
    await page.click('#stop');
    await page.waitForFunction(() => !document.getElementById('talk').disabled, { timeout: 10000 });
    out.afterStop = await page.evaluate(snapshot);
  } finally {
    await browser.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  out.totalMs = Date.now() - started;
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stderr.write(`browser.cjs: ${err.stack || err}\n`);
  process.exit(1);
});
