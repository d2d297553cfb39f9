/**
 * One member of a classic group: its identity, timeouts, supported protocols with their
 * metadata, its current assignment, and the JoinGroup / SyncGroup it has pending (as resolve
 * callbacks). Not thread-safe: owned by its GroupMetadata.
 */
import type { JoinGroupProtocol, JoinGroupResponse, SyncGroupResponse } from './types.js';

export const EMPTY_BUFFER = Buffer.alloc(0);

export type JoinCallback = (r: JoinGroupResponse) => void;
export type SyncCallback = (r: SyncGroupResponse) => void;

export class MemberMetadata {
  assignment: Buffer = EMPTY_BUFFER;
  awaitingJoin: JoinCallback | null = null;
  awaitingSync: SyncCallback | null = null;
  /** Joined and not yet through a completed join phase (Kafka's isNew). */
  isNew = false;
  /** The session (heartbeat) expiration timer. */
  sessionTimer: NodeJS.Timeout | null = null;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: JoinGroupProtocol[],
  ) {}

  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  /** The metadata the member sent for `protocol` (empty when it does not support it). */
  metadata(protocol: string): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BUFFER;
  }

  /** Same protocols, in the same order, with the same metadata bytes. */
  matches(protocols: readonly JoinGroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    for (let i = 0; i < protocols.length; i++) {
      const a = protocols[i]!;
      const b = this.protocols[i]!;
      if (a.name !== b.name || !a.metadata.equals(b.metadata)) return false;
    }
    return true;
  }

  /** The first of the member's protocols (in its preference order) that is a candidate. */
  vote(candidates: ReadonlySet<string>): string {
    const p = this.protocols.find((x) => candidates.has(x.name));
    if (p === undefined) throw new Error(`member ${this.memberId} supports none of the protocols ${[...candidates].join(', ')}`);
    return p.name;
  }
}
