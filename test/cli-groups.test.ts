import { describe, expect, it } from 'vitest';
import { startBroker } from './helpers/broker.js';
import { eventually, sluice, startSluice } from './helpers/cli.js';

interface OffsetRow {
  topic: string;
  partition: number;
  current: string;
  end: string;
  lag: string;
  consumer: string;
  host: string;
  client: string;
}

/** The offsets table of `groups --describe`. */
function offsetRows(stdout: string, group: string): OffsetRow[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(`${group} `))
    .map((l) => {
      const [, topic, partition, current, end, lag, consumer, host, client] = l.split(/\s+/);
      return { topic: topic!, partition: Number(partition), current: current!, end: end!, lag: lag!, consumer: consumer!, host: host!, client: client! };
    });
}

describe('sluice groups against a broker process', () => {
  it('describes members and lag, refuses to reset a live group, dry-runs and executes resets, deletes', async () => {
    const broker = await startBroker();
    const b = ['--bootstrap-server', broker.bootstrap];
    await sluice(['topics', '--create', '--topic', 'events', '--partitions', '3', ...b]);
    const input = Array.from({ length: 90 }, (_, i) => `key-${i}:v${i}`).join('\n') + '\n';
    expect((await sluice(['produce', '--topic', 'events', '--key-separator', ':', ...b], { input })).code).toBe(0);
    const ends = new Map<number, number>();
    for (const line of (await sluice(['topics', '--describe', '--topic', 'events', ...b])).stdout.split('\n')) {
      const m = /Partition: (\d+).*LogEndOffset: (\d+)/.exec(line);
      if (m) ends.set(Number(m[1]), Number(m[2]));
    }
    expect([...ends.values()].reduce((a, n) => a + n, 0)).toBe(90);

    // A member that read 40 records and left: committed 40 in total, lag 50.
    const partial = await sluice(['consume', '--topic', 'events', '--group', 'readers', '--from-beginning', '--max-messages', '40', ...b]);
    expect(partial.code).toBe(0);
    const described = await sluice(['groups', '--describe', '--group', 'readers', ...b]);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain('Group: readers  State: Empty');
    expect(described.stdout).toContain("Consumer group 'readers' has no active members.");
    expect(described.stdout).toMatch(/^GROUP\s+TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID\s+HOST\s+CLIENT-ID$/m);
    const rows = offsetRows(described.stdout, 'readers');
    expect(rows.map((r) => r.partition)).toEqual([0, 1, 2]);
    expect(rows.reduce((a, r) => a + Number(r.current), 0)).toBe(40);
    expect(rows.reduce((a, r) => a + Number(r.lag), 0)).toBe(50);
    for (const r of rows) {
      expect(Number(r.end)).toBe(ends.get(r.partition));
      expect(Number(r.lag)).toBe(Number(r.end) - Number(r.current));
    }

    // A live member: shown with its client id, host and assignment; resets are refused.
    const live = startSluice(['consume', '--topic', 'events', '--group', 'live', '--from-beginning', ...b]);
    await live.waitForStdout(/(?:.*\n){90}/);
    const withMember = await eventually(async () => {
      const r = await sluice(['groups', '--describe', '--group', 'live', ...b]);
      return /State: Stable/.test(r.stdout) ? r : null;
    });
    expect(withMember.stdout).toMatch(/^CONSUMER-ID\s+HOST\s+CLIENT-ID\s+#PARTITIONS\s+ASSIGNMENT$/m);
    expect(withMember.stdout).toMatch(/^\S+\s+\/?127\.0\.0\.1\s+sluice-consume\s+3\s+events\(0,1,2\)$/m);
    const members = await sluice(['groups', '--describe', '--group', 'live', '--members', ...b]);
    expect(members.stdout).not.toContain('LOG-END-OFFSET');
    const refused = await sluice(['groups', '--reset-offsets', '--group', 'live', '--topic', 'events', '--to-earliest', '--execute', ...b]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("NON_EMPTY_GROUP: offsets can be reset only while group 'live' is inactive, but it is Stable with 1 member(s)");
    const notDeleted = await sluice(['groups', '--delete', '--group', 'live', ...b]);
    expect(notDeleted.code).toBe(1);
    expect(notDeleted.stderr).toContain('NON_EMPTY_GROUP');
    live.proc.kill('SIGINT');
    expect((await live.exited).code).toBe(0);

    const list = await sluice(['groups', '--list', ...b]);
    expect(list).toMatchObject({ code: 0, stdout: 'live\nreaders\n' });
    expect((await sluice(['groups', '--list', '--state', ...b])).stdout).toMatch(/^readers\s+Empty$/m);

    // Dry run: the plan is printed, nothing changes.
    const dry = await sluice(['groups', '--reset-offsets', '--group', 'readers', '--topic', 'events', '--to-earliest', ...b]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe(`GROUP    TOPIC   PARTITION  NEW-OFFSET\n${[0, 1, 2].map((p) => `readers  events  ${p}          0`).join('\n')}\n`);
    expect(dry.stderr).toContain('Dry run: nothing was changed');
    const after = offsetRows((await sluice(['groups', '--describe', '--group', 'readers', ...b])).stdout, 'readers');
    expect(after).toEqual(rows);

    const committed = async () => offsetRows((await sluice(['groups', '--describe', '--group', 'readers', ...b])).stdout, 'readers').map((r) => Number(r.current));
    const reset = async (...args: string[]) => {
      const r = await sluice(['groups', '--reset-offsets', '--group', 'readers', ...args, '--execute', ...b]);
      expect(r.code, r.stderr).toBe(0);
      return committed();
    };
    const endList = [0, 1, 2].map((p) => ends.get(p)!);
    expect(await reset('--topic', 'events', '--to-earliest')).toEqual([0, 0, 0]);
    expect(await reset('--topic', 'events', '--to-latest')).toEqual(endList);
    expect(await reset('--topic', 'events', '--shift-by', '-5')).toEqual(endList.map((e) => Math.max(0, e - 5)));
    expect(await reset('--topic', 'events', '--shift-by', '+1000')).toEqual(endList);
    expect(await reset('--topic', 'events:1', '--to-offset', '2')).toEqual([endList[0], Math.min(2, endList[1]!), endList[2]]);
    expect(await reset('--all-topics', '--to-datetime', '2000-01-01T00:00:00Z')).toEqual([0, 0, 0]);
    expect(await reset('--all-topics', '--to-datetime', new Date(Date.now() + 3_600_000).toISOString())).toEqual(endList);

    const usage = await sluice(['groups', '--reset-offsets', '--group', 'readers', '--topic', 'events', ...b]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('one of --to-earliest, --to-latest, --to-datetime, --to-offset, --shift-by is required');
    const badTime = await sluice(['groups', '--reset-offsets', '--group', 'readers', '--topic', 'events', '--to-datetime', 'yesterday', ...b]);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain("invalid value 'yesterday' for --to-datetime");

    expect(await sluice(['groups', '--delete', '--group', 'readers', ...b])).toMatchObject({ code: 0, stdout: "Deleted consumer group 'readers'.\n" });
    const gone = await sluice(['groups', '--describe', '--group', 'readers', ...b]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("GROUP_ID_NOT_FOUND: consumer group 'readers' does not exist");
  });
});
