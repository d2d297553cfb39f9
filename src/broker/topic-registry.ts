/**
 * The topics of a data directory, in `<dir>/topics.json`:
 *
 *   { "version": 1, "topics": { "<name>": { "id": "<uuid>", "partitions": n,
 *                                           "config": { overrides }, "createdAt": ms } } }
 *
 * Written to a temporary file, fsynced and renamed (then the directory fsynced), so a crash
 * leaves the old or the new registry whole. Not thread-safe: the Sluice instance owns it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { replaceFile } from '../storage/write-fully.js';
import type { TopicConfig } from './topic-config.js';

export const TOPICS_FILE = 'topics.json';

export interface TopicMetadata {
  name: string;
  /** Kafka's topic id: a UUID. */
  id: string;
  partitions: number;
  /** Only the keys that differ from the broker's defaults. */
  config: TopicConfig;
  createdAt: number;
}

interface RegistryFile {
  version: 1;
  topics: Record<string, Omit<TopicMetadata, 'name'>>;
}

export class TopicRegistry {
  private readonly topics = new Map<string, TopicMetadata>();

  private constructor(readonly dir: string) {}

  static load(dir: string): TopicRegistry {
    const r = new TopicRegistry(dir);
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, TOPICS_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return r;
      throw err;
    }
    const file = JSON.parse(text) as RegistryFile;
    if (file.version !== 1) throw new Error(`${path.join(dir, TOPICS_FILE)} has version ${file.version}; this Sluice reads version 1`);
    for (const [name, t] of Object.entries(file.topics)) r.topics.set(name, { name, ...t });
    return r;
  }

  static newTopicId(): string {
    return crypto.randomUUID();
  }

  get(name: string): TopicMetadata | undefined {
    return this.topics.get(name);
  }

  names(): string[] {
    return [...this.topics.keys()].sort();
  }

  all(): TopicMetadata[] {
    return this.names().map((n) => this.topics.get(n)!);
  }

  /** Adds or replaces a topic and saves; on a failed save (thrown) nothing changes. */
  put(t: TopicMetadata): void {
    const next = new Map(this.topics);
    next.set(t.name, t);
    this.save(next);
    this.topics.set(t.name, t);
  }

  /** Removes a topic and saves; on a failed save (thrown) nothing changes. */
  remove(name: string): void {
    const next = new Map(this.topics);
    next.delete(name);
    this.save(next);
    this.topics.delete(name);
  }

  private save(topics: Map<string, TopicMetadata>): void {
    const file: RegistryFile = { version: 1, topics: {} };
    for (const t of [...topics.keys()].sort().map((n) => topics.get(n)!)) {
      const { name, ...rest } = t;
      file.topics[name] = rest;
    }
    // Whole or not at all (a short write on a full disk must not leave a torn registry);
    // memory changes only once the file did.
    replaceFile(path.join(this.dir, TOPICS_FILE), `${JSON.stringify(file, null, 2)}\n`, true);
    fsyncDir(this.dir);
  }
}

/** Makes a rename or unlink in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
