/**
 * The web console against a real `sluice serve` with data: its JSON API, then every page in
 * Debian's Chromium (puppeteer-core, no browser download), with screenshots saved under
 * test/artifacts/console/.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { spawn, type ChildProcess } from 'node:child_process';
import { startBroker } from './helpers/broker.js';
import { CLI, eventually } from './helpers/cli.js';
import { tmpDir } from './helpers/tmp.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(import.meta.dirname, 'artifacts', 'console');
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

let broker: { proc: ChildProcess; port: number; bootstrap: string; output: () => string };

/**
 * One broker for every test of the file, started here rather than by helpers/broker.ts (whose
 * afterEach kills its brokers after each test); stopped in afterAll.
 */
async function startShared(args: string[]): Promise<typeof broker> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--dir', path.join(tmpDir('sluice-console-'), 'data'), '--port', '0', '--metrics-port', '0', '--worker-threads', '1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stderr!.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.on('exit', (code) => reject(new Error(`broker exited with ${code}:\n${out}`)));
  });
  return { proc, port, bootstrap: `127.0.0.1:${port}`, output: () => out };
}
let base: string;
let consumer: Consumer;
const kafkas: { disconnect(): Promise<void> }[] = [];

async function api<T = any>(p: string): Promise<{ status: number; body: T }> {
  const res = await fetch(base + p);
  return { status: res.status, body: (await res.json()) as T };
}

beforeAll(async () => {
  const consolePort = await freePort();
  broker = await startShared(['--console-port', String(consolePort), '--console-sample-interval-ms', '250', '--group-min-session-timeout-ms', '1000']);
  base = `http://127.0.0.1:${consolePort}`;
  expect(broker.output()).toContain(`console at ${base}/`);
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3 }, { topic: 'events', numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  kafkas.push(producer);
  // events: 10 JSON records one second apart, with keys and a header, for the browser and seeks.
  await producer.send({
    topic: 'events',
    messages: Array.from({ length: 10 }, (_, i) => ({
      key: `user-${i}`,
      value: JSON.stringify({ event: 'click', seq: i, page: `/item/${i}` }),
      headers: { source: 'web' },
      timestamp: String(T0 + i * 1000),
    })),
  });
  await producer.send({ topic: 'orders', messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `order-${i}`, partition: i % 3 })) });
  // A group that read all 30 orders and committed, then paused while 20 more arrived: lag 20.
  consumer = kafka.consumer({ groupId: 'billing', sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  kafkas.push(consumer);
  await consumer.subscribe({ topic: 'orders', fromBeginning: true });
  let seen = 0;
  await consumer.run({
    eachMessage: async () => {
      seen++;
    },
  });
  await eventually(async () => seen >= 30);
  await eventually(async () => (await api('/api/groups/billing')).body.lag?.reduce((a: number, p: { lag: number }) => a + p.lag, 0) === 0 && (await api('/api/groups/billing')).body.lag.length === 3);
  consumer.pause([{ topic: 'orders' }]);
  await producer.send({ topic: 'orders', messages: Array.from({ length: 20 }, (_, i) => ({ value: `late-${i}`, partition: i % 3 })) });
}, 120_000);

afterAll(async () => {
  for (const k of kafkas.reverse()) await k.disconnect().catch(() => {});
  if (broker && broker.proc.exitCode === null) {
    broker.proc.kill('SIGTERM');
    await new Promise((r) => broker.proc.once('exit', r));
  }
});

describe('console JSON API', () => {
  it('describes the cluster, topics with offsets, records, the group with its lag, throughput and settings', async () => {
    const cluster = await api('/api/cluster');
    expect(cluster.body).toMatchObject({ clustered: false, controllerId: 0, brokers: [{ id: 0, host: '127.0.0.1', port: broker.port }] });

    const topics = (await api('/api/topics')).body.topics as { name: string; records: number; partitions: { highWatermark: number; leader: number; isr: number[] }[] }[];
    expect(topics.map((t) => t.name)).toEqual(['events', 'orders']);
    const orders = topics.find((t) => t.name === 'orders')!;
    expect(orders.records).toBe(50);
    expect(orders.partitions.map((p) => p.highWatermark)).toEqual([17, 17, 16]);
    expect(orders.partitions.every((p) => p.leader === 0 && p.isr.join() === '0')).toBe(true);
    expect((await api('/api/topics?internal=true')).body.topics.map((t: { name: string }) => t.name)).toContain('__consumer_offsets');

    const newest = (await api('/api/topics/events/partitions/0/records?limit=3')).body;
    expect(newest.records.map((r: { offset: number }) => r.offset)).toEqual([7, 8, 9]);
    const r9 = newest.records[2];
    expect(Buffer.from(r9.key, 'base64').toString()).toBe('user-9');
    expect(JSON.parse(Buffer.from(r9.value, 'base64').toString())).toEqual({ event: 'click', seq: 9, page: '/item/9' });
    expect(r9.headers.map((h: { key: string; value: string }) => [h.key, Buffer.from(h.value, 'base64').toString()])).toEqual([['source', 'web']]);
    expect(r9.timestamp).toBe(T0 + 9000);
    const byOffset = (await api('/api/topics/events/partitions/0/records?offset=4&limit=2')).body;
    expect(byOffset.records.map((r: { offset: number }) => r.offset)).toEqual([4, 5]);
    const byTime = (await api(`/api/topics/events/partitions/0/records?timestamp=${T0 + 5500}&limit=1`)).body;
    expect(byTime.records.map((r: { offset: number }) => r.offset)).toEqual([6]);

    const group = (await api('/api/groups/billing')).body;
    expect(group.state).toBe('Stable');
    expect(group.totalLag).toBe(20);
    expect(group.members).toHaveLength(1);
    expect(group.members[0].assignment).toEqual([{ topic: 'orders', partitions: [0, 1, 2] }]);
    expect((await api('/api/groups')).body.groups).toEqual([expect.objectContaining({ groupId: 'billing', members: 1, lag: 20 })]);
    // The sampler records the lag over time, and the traffic in and out per topic.
    await eventually(async () => (await api('/api/groups/billing')).body.history.some((p: { lag: number }) => p.lag === 20));
    await eventually(async () => {
      const t = (await api('/api/throughput')).body.topics.find((x: { topic: string }) => x.topic === 'orders');
      return t && t.totals.recordsIn === 50 && t.totals.recordsOut >= 30 && t.points.some((p: { recordsIn: number }) => p.recordsIn > 0);
    });

    const settings = (await api('/api/settings')).body.settings as { name: string; value: string; source: string }[];
    expect(settings.find((s) => s.name === 'console-sample-interval-ms')).toMatchObject({ value: '250', source: 'flag' });
    expect(settings.find((s) => s.name === 'num-partitions')).toMatchObject({ value: '1', source: 'default' });
  });

  it('answers bad requests with a status and a message that names the fix', async () => {
    expect(await api('/api/topics/nope')).toMatchObject({ status: 404, body: { error: expect.stringContaining("no topic 'nope'") } });
    expect(await api('/api/topics/events/partitions/7/records')).toMatchObject({ status: 404, body: { error: expect.stringContaining('has no partition 7') } });
    expect(await api('/api/topics/events/partitions/0/records?offset=abc')).toMatchObject({ status: 400, body: { error: expect.stringContaining('offset must be a whole number') } });
    expect(await api('/api/groups/nobody')).toMatchObject({ status: 404 });
    expect(await api('/api/topics/%E0%A4%A')).toMatchObject({ status: 400 });
    expect(await api('/api/whatever')).toMatchObject({ status: 404, body: { error: expect.stringContaining('/api/topics') } });
    expect((await fetch(`${base}/api/topics`, { method: 'POST' })).status).toBe(405);
    // The broker still serves after all that.
    expect((await api('/api/cluster')).status).toBe(200);
  });

  it('refuses to start on a taken port and names the flag to change', async () => {
    const taken = Number(new URL(base).port);
    const dir = tmpDir('sluice-console-');
    await expect(startBroker({ dir, args: ['--console-port', String(taken)] })).rejects.toThrow(/cannot serve the web console on 127\.0\.0\.1:\d+: .*--console-port/);
  });
});

describe('console pages in Chromium', () => {
  let browser: Browser;
  let page: Page;
  const external: string[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium), as .ci/run does`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', `--user-data-dir=${tmpDir('sluice-chromium-')}`],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    // Nothing may be fetched from anywhere but the console itself.
    page.on('request', (req) => {
      if (!req.url().startsWith(base) && !req.url().startsWith('data:')) external.push(req.url());
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  async function show(hash: string, expectText: string, shot: string): Promise<string> {
    await page.goto(`${base}/${hash}`, { waitUntil: 'networkidle0' });
    await page.waitForFunction((t) => document.body.innerText.includes(t), { timeout: 20_000 }, expectText);
    await page.screenshot({ path: path.join(ARTIFACTS, shot), fullPage: true });
    return page.evaluate(() => document.body.innerText);
  }

  it('shows the cluster, topics, a topic, messages, groups, throughput and settings', async () => {
    let text = await show('#/', 'Brokers', 'cluster.png');
    expect(text).toMatch(/controller/);
    expect(text).toContain(`127.0.0.1:${broker.port}`);

    text = await show('#/topics', 'orders', 'topics.png');
    expect(text).toContain('events');
    expect(text).toMatch(/orders\s+3\s+50/);

    text = await show('#/topics/orders', 'High watermark', 'topic-orders.png');
    expect(text).toMatch(/\n0\s+0\s+0\s+0\s+0\s+17\s+17/);

    text = await show('#/browse/events/0', 'user-9', 'messages-text.png');
    expect(text).toContain('{"event":"click","seq":9,"page":"/item/9"}');
    expect(text).toMatch(/source:\s*web/);
    await page.select('select[name=format]', 'json');
    await page.waitForFunction(() => document.body.innerText.includes('"seq": 9'));
    await page.screenshot({ path: path.join(ARTIFACTS, 'messages-json.png'), fullPage: true });
    await page.select('select[name=format]', 'hex');
    // "user-9" in hex.
    await page.waitForFunction(() => document.body.innerText.includes('75 73 65 72 2d 39'));
    await page.screenshot({ path: path.join(ARTIFACTS, 'messages-hex.png'), fullPage: true });

    // Seek by offset through the form.
    await page.select('select[name=mode]', 'offset');
    await page.waitForSelector('input[name=offset]');
    await page.$eval('input[name=offset]', (e) => ((e as HTMLInputElement).value = ''));
    await page.type('input[name=offset]', '3');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.body.innerText.includes('from offset 3'));
    expect(await page.$$eval('table.records tbody tr', (rows) => rows.map((r) => r.querySelector('td')!.textContent))).toEqual(['3', '4', '5', '6', '7', '8', '9']);
    // And by a link that carries the seek.
    text = await show('#/browse/events/0?offset=2&limit=3', 'user-2', 'messages-offset.png');
    expect(text).toContain('showing 3 record(s) from offset 2');
    expect(text).not.toContain('user-5');
    // Seek by time: the first record at or after 12:00:04.5 UTC is offset 5.
    text = await show('#/browse/events/0?time=2026-01-01T12:00:04.5&limit=2', 'user-5', 'messages-time.png');
    expect(text).toContain('from offset 5');

    text = await show('#/groups', 'billing', 'groups.png');
    expect(text).toMatch(/billing\s+Stable\s+consumer\s+1\s+3\s+20/);

    text = await show('#/groups/billing', 'Offsets and lag', 'group-billing.png');
    expect(text).toContain('orders: 0, 1, 2');
    expect(await page.$eval('#total-lag', (e) => e.textContent)).toBe('20');
    expect(await page.$$eval('.chart svg polyline', (l) => l.length)).toBeGreaterThan(0);

    text = await show('#/throughput', 'orders', 'throughput.png');
    expect(text).toContain('in (produced)');
    expect(await page.$$eval('.chart svg polyline', (l) => l.length)).toBeGreaterThanOrEqual(4);

    text = await show('#/settings', '--console-port', 'settings.png');
    expect(text).toContain('sluice.console.port');

    expect(external).toEqual([]);
  }, 120_000);
});
