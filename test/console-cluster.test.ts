/**
 * The web console of a clustered broker: two real broker processes and a real etcd; the
 * console of either shows both brokers, the controller, and each partition's replicas,
 * leader and ISR as the cluster has them. The cluster page is also shot in Chromium.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import puppeteer from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { startBroker, type BrokerProcess } from './helpers/broker.js';
import { freePort, startEtcd } from './helpers/etcd.js';
import { eventually } from './helpers/cli.js';
import { tmpDir } from './helpers/tmp.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(import.meta.dirname, 'artifacts', 'console');

async function startNode(etcd: string, id: number): Promise<{ broker: BrokerProcess; console: string }> {
  const port = await freePort();
  const broker = await startBroker({ args: ['--node-id', String(id), '--etcd', etcd, '--broker-session-timeout-ms', '2000', '--console-port', String(port)] });
  return { broker, console: `http://127.0.0.1:${port}` };
}

async function get(base: string, p: string): Promise<any> {
  return (await fetch(base + p)).json();
}

describe('console of a cluster', () => {
  it('shows every broker, the controller, and replicas, leaders and ISR from the cluster', async () => {
    const etcd = await startEtcd();
    const one = await startNode(etcd.endpoint, 1);
    const two = await startNode(etcd.endpoint, 2);
    // Spreading over both needs both registered: the console says when they are.
    await eventually(async () => (await get(one.console, '/api/cluster')).brokers.length === 2);
    const kafka = new Kafka({ brokers: [one.broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Replication factor 1 (Sluice does not replicate yet): one partition on each broker.
      await admin.createTopics({ topics: [{ topic: 'spread', numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    for (const node of [one, two]) {
      const cluster = await eventually(async () => {
        const c = await get(node.console, '/api/cluster');
        return c.brokers.length === 2 ? c : null;
      });
      expect(cluster).toMatchObject({ clustered: true, controllerId: 1, brokers: [{ id: 1, port: one.broker.port }, { id: 2, port: two.broker.port }] });
      const topic = await eventually(async () => {
        const t = await get(node.console, '/api/topics/spread');
        return t.partitions?.length === 2 && t.partitions.every((p: { leader: number }) => p.leader > 0) ? t : null;
      });
      for (const p of topic.partitions) expect(p).toMatchObject({ replicas: [p.leader], isr: [p.leader] });
      expect(topic.partitions.map((p: { leader: number }) => p.leader).sort()).toEqual([1, 2]);
      // Offsets come from the broker that holds the partition; the other says where it is.
      const self = node === one ? 1 : 2;
      for (const p of topic.partitions) {
        const records = await fetch(`${node.console}/api/topics/spread/partitions/${p.partition}/records`);
        if (p.leader === self) {
          expect(p.highWatermark).toBe(0);
          expect(records.status).toBe(200);
        } else {
          expect(p.highWatermark).toBeNull();
          expect(records.status).toBe(404);
          expect((await records.json()).error).toContain(`on broker ${p.leader}: open that broker's console`);
        }
      }
    }
    expect((await get(two.console, '/api/cluster')).self).toBe(2);

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', `--user-data-dir=${tmpDir('sluice-chromium-')}`],
    });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 720 });
      await page.goto(`${two.console}/#/`, { waitUntil: 'networkidle0' });
      await page.waitForFunction(() => document.body.innerText.includes('clustered through etcd'));
      const text = await page.evaluate(() => document.body.innerText);
      expect(text).toContain(`127.0.0.1:${one.broker.port}`);
      expect(text).toContain(`127.0.0.1:${two.broker.port}`);
      await page.screenshot({ path: path.join(ARTIFACTS, 'cluster-etcd.png'), fullPage: true });
      await page.goto(`${two.console}/#/topics/spread`, { waitUntil: 'networkidle0' });
      await page.waitForFunction(() => document.body.innerText.includes('High watermark'));
      await page.screenshot({ path: path.join(ARTIFACTS, 'topic-spread-etcd.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 120_000);
});
