/**
 * The Sluice web console: a few pages over the broker's JSON API (/api/...), routed by the URL
 * hash. Preact renders, htm writes the markup without a compiler, charts are SVG drawn here.
 * Everything is bundled by esbuild at build time: the page loads nothing from the network.
 */
import { h, render, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);

// ---- data ------------------------------------------------------------------------------

type State<T> = { data: T | null; error: string | null };

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

/** GETs `path` now and every `refreshMs` (0: once), keeping the last good answer on screen. */
function useApi<T>(path: string | null, refreshMs = 5000): State<T> {
  const [state, setState] = useState<State<T>>({ data: null, error: null });
  useEffect(() => {
    if (path === null) return;
    let live = true;
    const load = () =>
      getJson<T>(path).then(
        (data) => live && setState({ data, error: null }),
        (err: Error) => live && setState((s) => ({ data: s.data, error: err.message })),
      );
    setState({ data: null, error: null });
    void load();
    const timer = refreshMs > 0 ? setInterval(load, refreshMs) : null;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [path, refreshMs]);
  return state;
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

// ---- formatting --------------------------------------------------------------------------

const num = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: 1 }));

function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');

function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export type Format = 'text' | 'json' | 'hex';

/** Bytes shown as UTF-8 text, as indented JSON (text when they are not JSON), or as hex. */
export function showBytes(b64: string | null, format: Format): string {
  if (b64 === null) return 'null';
  const b = fromBase64(b64);
  if (format === 'hex') {
    const lines: string[] = [];
    for (let i = 0; i < b.length; i += 16) {
      const row = Array.from(b.subarray(i, i + 16), (x) => x.toString(16).padStart(2, '0'));
      lines.push(`${i.toString(16).padStart(6, '0')}  ${row.join(' ')}`);
    }
    return lines.join('\n') || '(empty)';
  }
  const text = new TextDecoder('utf-8').decode(b);
  if (format === 'json') {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text;
    }
  }
  return text;
}

// ---- charts ------------------------------------------------------------------------------

interface Series {
  name: string;
  color: string;
  points: { t: number; v: number }[];
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** A line chart of one or more series over time, drawn as SVG. */
function LineChart({ title, series, unit, width = 560 }: { title: string; series: Series[]; unit: (v: number) => string; width?: number }) {
  const W = width;
  const H = 180;
  const L = 64;
  const R = 10;
  const T = 10;
  const B = 24;
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) {
    return html`<div class="chart"><div class="title">${title}</div><p class="muted">No samples yet: the first point comes after one sample interval.</p></div>`;
  }
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t), t0 + 1);
  const vMax = niceMax(Math.max(...all.map((p) => p.v)));
  const x = (t: number) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v: number) => T + (1 - v / vMax) * (H - T - B);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * vMax);
  const hhmmss = (t: number) => new Date(t).toISOString().slice(11, 19);
  return html`<div class="chart">
    <div class="title">${title}</div>
    <div class="legend">${series.map((s) => html`<span><i style=${`background:${s.color}`}></i>${s.name}</span>`)}</div>
    <svg viewBox=${`0 0 ${W} ${H}`} width=${W} height=${H} style="max-width:100%;height:auto" role="img" aria-label=${title}>
      ${ticks.map(
        (v) => html`<line x1=${L} x2=${W - R} y1=${y(v)} y2=${y(v)} stroke="#e9ecef" />
          <text x=${L - 6} y=${y(v) + 4} text-anchor="end">${unit(v)}</text>`,
      )}
      <text x=${L} y=${H - 6}>${hhmmss(t0)}</text>
      <text x=${W - R} y=${H - 6} text-anchor="end">${hhmmss(t1)}</text>
      ${series.map((s) =>
        s.points.length === 1
          ? html`<circle cx=${x(s.points[0]!.t)} cy=${y(s.points[0]!.v)} r="3" fill=${s.color} />`
          : html`<polyline fill="none" stroke=${s.color} stroke-width="2" points=${s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ')} />`,
      )}
    </svg>
  </div>`;
}

// ---- pages -------------------------------------------------------------------------------

interface ClusterInfo {
  clusterId: string;
  clustered: boolean;
  self: number;
  controllerId: number;
  version: string;
  brokers: { id: number; host: string; port: number; rack: string | null; startedAt: number; software: string }[];
}
interface PartitionInfo {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  logStartOffset: number | null;
  highWatermark: number | null;
  logEndOffset: number | null;
  size: number | null;
  segments: number | null;
}
interface TopicInfo {
  name: string;
  id: string;
  internal: boolean;
  partitions: PartitionInfo[];
  size: number;
  records: number;
  config?: Record<string, string | number | boolean>;
  overrides?: Record<string, string>;
}
interface GroupRow {
  groupId: string;
  state: string;
  protocolType: string;
  members: number;
  partitions: number;
  lag: number;
}

function Failed({ error }: { error: string | null }) {
  return error ? html`<p class="error">Cannot load: ${error}</p>` : null;
}

function Loading<T>({ state, children }: { state: State<T>; children: (d: T) => ComponentChildren }) {
  if (state.data === null) return state.error ? html`<${Failed} error=${state.error} />` : html`<p class="muted">Loading…</p>`;
  return html`${state.error ? html`<${Failed} error=${state.error} />` : null}${children(state.data)}`;
}

function ClusterPage() {
  const c = useApi<ClusterInfo>('/api/cluster');
  const t = useApi<{ topics: TopicInfo[] }>('/api/topics');
  const g = useApi<{ groups: GroupRow[] }>('/api/groups');
  return html`<h1>Cluster</h1>
    <${Loading} state=${c}>
      ${(d: ClusterInfo) => html`
        <div class="stats">
          <div class="stat"><div class="n">${d.brokers.length}</div><div class="l">brokers</div></div>
          <div class="stat"><div class="n">${d.controllerId}</div><div class="l">controller</div></div>
          <div class="stat"><div class="n">${t.data ? t.data.topics.length : '…'}</div><div class="l">topics</div></div>
          <div class="stat"><div class="n">${t.data ? t.data.topics.reduce((a, x) => a + x.partitions.length, 0) : '…'}</div><div class="l">partitions</div></div>
          <div class="stat"><div class="n">${g.data ? g.data.groups.length : '…'}</div><div class="l">consumer groups</div></div>
        </div>
        <p class="muted">Cluster id <code>${d.clusterId}</code> · ${d.clustered ? 'clustered through etcd' : 'a lone broker'} · Sluice ${d.version}</p>
        <h2>Brokers</h2>
        <table>
          <thead><tr><th>Id</th><th>Address</th><th>Rack</th><th>Role</th><th>Started</th><th>Version</th></tr></thead>
          <tbody>${d.brokers.map(
            (b) => html`<tr>
              <td>${b.id}${b.id === d.self ? html` <span class="badge">this broker</span>` : null}</td>
              <td>${b.host}:${b.port}</td>
              <td>${b.rack ?? '–'}</td>
              <td>${b.id === d.controllerId ? html`<span class="badge">controller</span>` : 'broker'}</td>
              <td>${time(b.startedAt)}</td>
              <td>${b.software}</td>
            </tr>`,
          )}</tbody>
        </table>`}
    <//>`;
}

function TopicsPage() {
  const [internal, setInternal] = useState(false);
  const t = useApi<{ topics: TopicInfo[] }>(`/api/topics?internal=${internal}`);
  return html`<h1>Topics</h1>
    <div class="controls"><label style="flex-direction:row;align-items:center;gap:6px"><input type="checkbox" checked=${internal} onChange=${(e: Event) => setInternal((e.target as HTMLInputElement).checked)} /> show internal topics</label></div>
    <${Loading} state=${t}>
      ${(d: { topics: TopicInfo[] }) =>
        d.topics.length === 0
          ? html`<p class="muted">No topics yet.</p>`
          : html`<table>
              <thead><tr><th>Topic</th><th class="num">Partitions</th><th class="num">Records</th><th class="num">Size</th><th>Leaders</th><th></th></tr></thead>
              <tbody>${d.topics.map(
                (x) => html`<tr>
                  <td><a href=${`#/topics/${encodeURIComponent(x.name)}`}>${x.name}</a>${x.internal ? html` <span class="badge">internal</span>` : null}</td>
                  <td class="num">${x.partitions.length}</td>
                  <td class="num">${num(x.records)}</td>
                  <td class="num">${bytes(x.size)}</td>
                  <td>${[...new Set(x.partitions.map((p) => p.leader))].join(', ')}</td>
                  <td><a href=${`#/browse/${encodeURIComponent(x.name)}/0`}>browse</a></td>
                </tr>`,
              )}</tbody>
            </table>`}
    <//>`;
}

function TopicPage({ name }: { name: string }) {
  const t = useApi<TopicInfo>(`/api/topics/${encodeURIComponent(name)}`);
  return html`<h1>Topic ${name}</h1>
    <${Loading} state=${t}>
      ${(d: TopicInfo) => html`
        <p class="muted">Topic id <code>${d.id}</code> · ${num(d.records)} records · ${bytes(d.size)}</p>
        <h2>Partitions</h2>
        <table>
          <thead><tr><th class="num">Partition</th><th class="num">Leader</th><th>Replicas</th><th>ISR</th><th class="num">Log start</th><th class="num">High watermark</th><th class="num">Log end</th><th class="num">Size</th><th class="num">Segments</th><th></th></tr></thead>
          <tbody>${d.partitions.map(
            (p) => html`<tr>
              <td class="num">${p.partition}</td>
              <td class="num">${p.leader === -1 ? html`<span class="badge warn">none</span>` : p.leader}</td>
              <td>${p.replicas.join(', ')}</td>
              <td>${p.isr.join(', ')}${p.isr.length < p.replicas.length ? html` <span class="badge warn">under-replicated</span>` : null}</td>
              <td class="num">${num(p.logStartOffset)}</td>
              <td class="num">${num(p.highWatermark)}</td>
              <td class="num">${num(p.logEndOffset)}</td>
              <td class="num">${bytes(p.size)}</td>
              <td class="num">${num(p.segments)}</td>
              <td><a href=${`#/browse/${encodeURIComponent(name)}/${p.partition}`}>browse</a></td>
            </tr>`,
          )}</tbody>
        </table>
        <h2>Configuration</h2>
        <table>
          <thead><tr><th>Key</th><th>Value</th><th>Source</th></tr></thead>
          <tbody>${Object.entries(d.config ?? {})
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([k, v]) => html`<tr><td>${k}</td><td>${String(v)}</td><td class="muted">${d.overrides && k in d.overrides ? 'topic' : 'default'}</td></tr>`)}</tbody>
        </table>`}
    <//>`;
}

interface RecordsAnswer {
  topic: string;
  partition: number;
  logStartOffset: number;
  highWatermark: number;
  from: number;
  nextOffset: number;
  records: { offset: number; timestamp: number; key: string | null; value: string | null; headers: { key: string; value: string | null }[] }[];
}

function BrowsePage({ topic, partition, query }: { topic: string; partition: number; query: URLSearchParams }) {
  const t = useApi<TopicInfo>(`/api/topics/${encodeURIComponent(topic)}`, 0);
  const [format, setFormat] = useState<Format>((query.get('format') as Format) ?? 'text');
  const [mode, setMode] = useState(query.get('offset') !== null ? 'offset' : query.get('time') !== null ? 'time' : 'newest');
  const [offset, setOffset] = useState(query.get('offset') ?? '0');
  const [when, setWhen] = useState(query.get('time') ?? new Date(Date.now() - 3600_000).toISOString().slice(0, 19));
  const [limit, setLimit] = useState(query.get('limit') ?? '50');
  const [search, setSearch] = useState(() => recordsQuery(mode, offset, when, limit));
  const r = useApi<RecordsAnswer>(`/api/topics/${encodeURIComponent(topic)}/partitions/${partition}/records?${search}`, 0);
  const go = (e: Event) => {
    e.preventDefault();
    setSearch(recordsQuery(mode, offset, when, limit));
  };
  return html`<h1>Messages of ${topic}</h1>
    <form class="controls" onSubmit=${go}>
      <label>Partition
        <select value=${partition} onChange=${(e: Event) => (location.hash = `#/browse/${encodeURIComponent(topic)}/${(e.target as HTMLSelectElement).value}`)}>
          ${(t.data?.partitions ?? [{ partition }]).map((p) => html`<option value=${p.partition}>${p.partition}</option>`)}
        </select>
      </label>
      <label>Start at
        <select name="mode" value=${mode} onChange=${(e: Event) => setMode((e.target as HTMLSelectElement).value)}>
          <option value="newest">newest records</option>
          <option value="offset">offset</option>
          <option value="time">time (UTC)</option>
        </select>
      </label>
      ${mode === 'offset' ? html`<label>Offset<input name="offset" type="number" min="0" value=${offset} onInput=${(e: Event) => setOffset((e.target as HTMLInputElement).value)} /></label>` : null}
      ${mode === 'time' ? html`<label>Time (UTC)<input name="time" type="datetime-local" step="1" value=${when} onInput=${(e: Event) => setWhen((e.target as HTMLInputElement).value)} /></label>` : null}
      <label>Count<input name="limit" type="number" min="1" max="500" value=${limit} onInput=${(e: Event) => setLimit((e.target as HTMLInputElement).value)} /></label>
      <button type="submit">Show</button>
      <label>Show bytes as
        <select name="format" value=${format} onChange=${(e: Event) => setFormat((e.target as HTMLSelectElement).value as Format)}>
          <option value="text">text</option>
          <option value="json">JSON</option>
          <option value="hex">hex</option>
        </select>
      </label>
    </form>
    <${Loading} state=${r}>
      ${(d: RecordsAnswer) => html`
        <p class="muted">Partition ${d.partition}: offsets ${num(d.logStartOffset)} to ${num(d.highWatermark)} (high watermark) · showing ${d.records.length} record(s) from offset ${num(d.from)}</p>
        ${d.records.length === 0
          ? html`<p class="muted">No records there.</p>`
          : html`<table class="records">
              <thead><tr><th class="num">Offset</th><th>Timestamp</th><th>Key</th><th>Value</th><th>Headers</th></tr></thead>
              <tbody>${d.records.map(
                (x) => html`<tr>
                  <td class="num">${x.offset}</td>
                  <td>${time(x.timestamp)}</td>
                  <td><pre class="payload">${showBytes(x.key, format)}</pre></td>
                  <td><pre class="payload">${showBytes(x.value, format)}</pre></td>
                  <td>${x.headers.map((hd) => html`<div class="header"><b>${hd.key}</b>: <pre class="payload">${showBytes(hd.value, format)}</pre></div>`)}</td>
                </tr>`,
              )}</tbody>
            </table>`}`}
    <//>`;
}

function recordsQuery(mode: string, offset: string, when: string, limit: string): string {
  const q = new URLSearchParams({ limit: String(Number(limit) || 50) });
  if (mode === 'offset') q.set('offset', String(Number(offset) || 0));
  if (mode === 'time') q.set('timestamp', String(Date.parse(`${when}Z`) || 0));
  return q.toString();
}

function GroupsPage() {
  const g = useApi<{ groups: GroupRow[] }>('/api/groups');
  return html`<h1>Consumer groups</h1>
    <${Loading} state=${g}>
      ${(d: { groups: GroupRow[] }) =>
        d.groups.length === 0
          ? html`<p class="muted">No consumer groups yet.</p>`
          : html`<table>
              <thead><tr><th>Group</th><th>State</th><th>Protocol</th><th class="num">Members</th><th class="num">Partitions</th><th class="num">Lag</th></tr></thead>
              <tbody>${d.groups.map(
                (x) => html`<tr>
                  <td><a href=${`#/groups/${encodeURIComponent(x.groupId)}`}>${x.groupId}</a></td>
                  <td>${x.state}</td>
                  <td>${x.protocolType || '–'}</td>
                  <td class="num">${x.members}</td>
                  <td class="num">${x.partitions}</td>
                  <td class="num">${num(x.lag)}</td>
                </tr>`,
              )}</tbody>
            </table>`}
    <//>`;
}

interface GroupInfo {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  totalLag: number;
  members: { memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; assignment: { topic: string; partitions: number[] }[] }[];
  lag: { topic: string; partition: number; committedOffset: number; logEndOffset: number; lag: number; owner: string | null }[];
  history: { t: number; lag: number }[];
}

function GroupPage({ id }: { id: string }) {
  const g = useApi<GroupInfo>(`/api/groups/${encodeURIComponent(id)}`);
  return html`<h1>Group ${id}</h1>
    <${Loading} state=${g}>
      ${(d: GroupInfo) => html`
        <div class="stats">
          <div class="stat"><div class="n">${d.state}</div><div class="l">state</div></div>
          <div class="stat"><div class="n">${d.members.length}</div><div class="l">members</div></div>
          <div class="stat"><div class="n" id="total-lag">${num(d.totalLag)}</div><div class="l">total lag</div></div>
        </div>
        <h2>Lag over time</h2>
        <${LineChart} width=${1100} title=${`Total lag of ${id}`} unit=${num} series=${[{ name: 'lag (records)', color: '#d9480f', points: d.history.map((p) => ({ t: p.t, v: p.lag })) }]} />
        <h2>Members</h2>
        ${d.members.length === 0
          ? html`<p class="muted">No members: the group is ${d.state}.</p>`
          : html`<table>
              <thead><tr><th>Member</th><th>Client id</th><th>Host</th><th>Assignment</th></tr></thead>
              <tbody>${d.members.map(
                (m) => html`<tr>
                  <td><code>${m.memberId}</code>${m.groupInstanceId ? html` <span class="badge">static ${m.groupInstanceId}</span>` : null}</td>
                  <td>${m.clientId}</td>
                  <td>${m.clientHost}</td>
                  <td>${m.assignment.length === 0 ? html`<span class="muted">none</span>` : m.assignment.map((a) => html`<div>${a.topic}: ${a.partitions.join(', ')}</div>`)}</td>
                </tr>`,
              )}</tbody>
            </table>`}
        <h2>Offsets and lag</h2>
        <table>
          <thead><tr><th>Topic</th><th class="num">Partition</th><th class="num">Committed</th><th class="num">Log end</th><th class="num">Lag</th><th>Consumer</th></tr></thead>
          <tbody>${d.lag.map(
            (p) => html`<tr>
              <td>${p.topic}</td><td class="num">${p.partition}</td><td class="num">${num(p.committedOffset)}</td><td class="num">${num(p.logEndOffset)}</td><td class="num">${num(p.lag)}</td><td>${p.owner ?? '–'}</td>
            </tr>`,
          )}</tbody>
        </table>`}
    <//>`;
}

interface ThroughputInfo {
  intervalMs: number;
  topics: { topic: string; totals: { recordsIn: number; bytesIn: number; recordsOut: number; bytesOut: number } | null; points: { t: number; recordsIn: number; bytesIn: number; recordsOut: number; bytesOut: number }[] }[];
}

function ThroughputPage() {
  const d = useApi<ThroughputInfo>('/api/throughput');
  const [what, setWhat] = useState<'records' | 'bytes'>('records');
  return html`<h1>Throughput</h1>
    <div class="controls"><label>Per second in
      <select value=${what} onChange=${(e: Event) => setWhat((e.target as HTMLSelectElement).value as 'records' | 'bytes')}>
        <option value="records">records</option><option value="bytes">bytes</option>
      </select></label></div>
    <${Loading} state=${d}>
      ${(x: ThroughputInfo) =>
        x.topics.length === 0
          ? html`<p class="muted">No traffic yet: a topic shows here once it was produced to or fetched from.</p>`
          : html`<p class="muted">A point every ${x.intervalMs / 1000} s; the charts keep the last 360.</p>
            <div class="grid2">${x.topics.map((t) => {
              const key = what === 'records' ? (['recordsIn', 'recordsOut'] as const) : (['bytesIn', 'bytesOut'] as const);
              return html`<${LineChart}
                title=${`${t.topic} — ${what}/s (total in ${num(t.totals?.[key[0]])}, out ${num(t.totals?.[key[1]])})`}
                unit=${what === 'records' ? num : bytes}
                series=${[
                  { name: 'in (produced)', color: '#1f6feb', points: t.points.map((p) => ({ t: p.t, v: p[key[0]] })) },
                  { name: 'out (fetched)', color: '#d9480f', points: t.points.map((p) => ({ t: p.t, v: p[key[1]] })) },
                ]}
              />`;
            })}</div>`}
    <//>`;
}

function SettingsPage() {
  const s = useApi<{ settings: { name: string; key?: string; value: string; source: string; doc?: string }[] }>('/api/settings', 0);
  return html`<h1>Broker settings</h1>
    <${Loading} state=${s}>
      ${(d: { settings: { name: string; key?: string; value: string; source: string; doc?: string }[] }) =>
        d.settings.length === 0
          ? html`<p class="muted">This broker was started without a settings table (embedded use).</p>`
          : html`<table>
              <thead><tr><th>Flag</th><th>File key</th><th>Value</th><th>From</th><th>Meaning</th></tr></thead>
              <tbody>${d.settings.map(
                (x) => html`<tr>
                  <td><code>--${x.name}</code></td><td><code>${x.key ?? ''}</code></td><td>${x.value === '' ? html`<span class="muted">(unset)</span>` : x.value}</td>
                  <td>${x.source === 'default' ? html`<span class="muted">default</span>` : html`<span class="badge">${x.source}</span>`}</td>
                  <td class="muted">${x.doc ?? ''}</td>
                </tr>`,
              )}</tbody>
            </table>`}
    <//>`;
}

// ---- shell -------------------------------------------------------------------------------

const NAV: [string, string][] = [
  ['#/', 'Cluster'],
  ['#/topics', 'Topics'],
  ['#/groups', 'Consumer groups'],
  ['#/throughput', 'Throughput'],
  ['#/settings', 'Settings'],
];

function App() {
  const hash = useHash();
  const [pathPart, queryPart] = hash.slice(1).split('?') as [string, string | undefined];
  const parts = pathPart.split('/').filter((x) => x !== '').map(decodeURIComponent);
  const query = new URLSearchParams(queryPart ?? '');
  let page;
  let section = '#/';
  if (parts[0] === 'topics' && parts[1] !== undefined) ((page = html`<${TopicPage} key=${parts[1]} name=${parts[1]} />`), (section = '#/topics'));
  else if (parts[0] === 'topics') ((page = html`<${TopicsPage} />`), (section = '#/topics'));
  else if (parts[0] === 'browse' && parts[1] !== undefined)
    ((page = html`<${BrowsePage} key=${hash} topic=${parts[1]} partition=${Number(parts[2] ?? 0)} query=${query} />`), (section = '#/topics'));
  else if (parts[0] === 'groups' && parts[1] !== undefined) ((page = html`<${GroupPage} key=${parts[1]} id=${parts[1]} />`), (section = '#/groups'));
  else if (parts[0] === 'groups') ((page = html`<${GroupsPage} />`), (section = '#/groups'));
  else if (parts[0] === 'throughput') ((page = html`<${ThroughputPage} />`), (section = '#/throughput'));
  else if (parts[0] === 'settings') ((page = html`<${SettingsPage} />`), (section = '#/settings'));
  else page = html`<${ClusterPage} />`;
  return html`<header>
      <span class="brand">Sluice</span>
      <nav>${NAV.map(([href, label]) => html`<a href=${href} class=${section === href ? 'active' : ''}>${label}</a>`)}</nav>
      <span class="who">${location.host}</span>
    </header>
    <main>${page}</main>`;
}

const root = document.getElementById('app')!;
// Preact renders next to what is there: drop the "Loading" placeholder first.
root.textContent = '';
render(html`<${App} />`, root);
