import { describe, expect, it } from 'vitest';
import { canonicalJSON, ChainVerifier, computeRecordHash, GENESIS_HASH } from './chain.js';
import type { SealedAuditRecord } from './event.js';

function chain(n: number): SealedAuditRecord[] {
  const out: SealedAuditRecord[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    const unhashed = {
      seq: i,
      eventId: `evt_${i}`,
      time: 1_700_000_000_000 + i,
      accountId: '123456789012',
      actorType: 'principal' as const,
      actorId: 'AIDATEST',
      action: 'auth.sign_in',
      target: 'AIDATEST',
      sourceIp: '10.0.0.1',
      userAgent: 'ua',
      outcome: 'success' as const,
      errorCode: null,
      details: { n: i },
      prevHash: prev,
    };
    const record = { ...unhashed, hash: computeRecordHash(unhashed) };
    out.push(record);
    prev = record.hash;
  }
  return out;
}

function firstBreak(records: SealedAuditRecord[]) {
  const v = new ChainVerifier();
  for (const r of records) {
    const b = v.check(r);
    if (b) return b;
  }
  return null;
}

describe('canonical JSON', () => {
  it('sorts keys at every level and is independent of insertion order', () => {
    expect(canonicalJSON({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJSON({ x: 1, y: 2 })).toBe(canonicalJSON({ y: 2, x: 1 }));
  });
  it('refuses non-finite numbers', () => {
    expect(() => canonicalJSON({ a: Number.NaN })).toThrow('non-finite number');
  });
});

describe('hash chain verification', () => {
  it('accepts an intact chain', () => {
    expect(firstBreak(chain(50))).toBeNull();
  });
  it('names a changed record', () => {
    const records = chain(10);
    records[4] = { ...records[4]!, details: { n: 999 } };
    expect(firstBreak(records)).toEqual({ seq: 5, reason: 'hash_mismatch' });
  });
  it('names the record after a deleted one', () => {
    const records = chain(10);
    records.splice(6, 1);
    expect(firstBreak(records)).toEqual({ seq: 8, reason: 'sequence_gap', expectedSeq: 7 });
  });
  it('detects an inserted record even with renumbering', () => {
    const records = chain(10);
    const forged = { ...records[3]!, eventId: 'evt_forged' };
    const renumbered = [...records.slice(0, 4), forged, ...records.slice(4)].map((r, i) => ({
      ...r,
      seq: i + 1,
    }));
    const b = firstBreak(renumbered);
    expect(b).not.toBeNull();
    expect(b!.seq).toBe(5); // the forged row does not link to its predecessor
  });
  it('detects a rewritten hash that no longer links', () => {
    const records = chain(5);
    const changed = { ...records[1]!, action: 'user.create' };
    records[1] = { ...changed, hash: computeRecordHash(changed) };
    expect(firstBreak(records)).toEqual({ seq: 3, reason: 'prev_hash_mismatch' });
  });
});
