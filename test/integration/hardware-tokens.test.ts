/**
 * Hardware OTP tokens end to end over HTTP (inject), on SQLite and PostgreSQL: PSKC import of
 * files written by an independent tool (Debian's python3-pskc), the inventory, assignment,
 * enabling with two codes, sign-in with the token, admin-only removal and lost tokens.
 * Codes come from `oathtool`, another independent implementation (RFC 4226 / RFC 6238).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBase32 } from '../../src/core/factors/otp/base32.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { clientPath, withoutClients } from '../helpers/external-clients.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  mfaSessionToken,
  type TestInstallation,
} from '../helpers/installation.js';

/** Skipped (with a banner at the end of `npm test`) where these clients are missing, except in CI. */
const NO_CLIENTS = withoutClients('python3-pskc', 'oathtool');
/** The python3 that imports pskc (Debian's: a pyenv `python3` earlier on PATH does not see it). */
const PYTHON = clientPath('python3-pskc');
const OATHTOOL = clientPath('oathtool');
const GENERATOR = fileURLToPath(new URL('../fixtures/pskc/generate.py', import.meta.url));
const PASSWORD = 'correct horse battery staple';

interface KeySpec {
  serial: string;
  manufacturer?: string;
  model?: string;
  algorithm: 'totp' | 'hotp';
  digits?: number;
  period?: number;
  counter?: number;
  secretHex: string;
}

function generatePSKC(request: { keys: KeySpec[]; encryption?: { keyHex: string } }): string {
  if (NO_CLIENTS) return ''; // the suite is skipped
  return execFileSync(PYTHON, [GENERATOR], { input: JSON.stringify(request), encoding: 'utf8' });
}

/** A 160-bit seed that a test can recompute (and scan every output for). */
const seed = (label: string) => createHash('sha1').update(`holdfast hardware token ${label}`).digest('hex');

const SECRETS = {
  totpPlain: seed('totp plain'),
  totpAdmin: seed('totp admin'),
  hotpPlain: seed('hotp plain'),
  totpEncrypted: seed('totp encrypted'),
  hotpEncrypted: seed('hotp encrypted'),
  refused: seed('refused'),
};
const PRE_SHARED_KEY_HEX = '000102030405060708090a0b0c0d0e0f';

const PLAIN_KEYS: KeySpec[] = [
  {
    serial: 'TOTP-0001',
    manufacturer: 'ACME Tokens',
    model: 'Time Token 6',
    algorithm: 'totp',
    digits: 6,
    period: 30,
    secretHex: SECRETS.totpPlain,
  },
  {
    serial: 'TOTP-0002',
    manufacturer: 'ACME Tokens',
    model: 'Time Token 6',
    algorithm: 'totp',
    digits: 6,
    period: 30,
    secretHex: SECRETS.totpAdmin,
  },
  {
    serial: 'HOTP-0001',
    manufacturer: 'Event Co',
    model: 'Button 1',
    algorithm: 'hotp',
    digits: 6,
    counter: 0,
    secretHex: SECRETS.hotpPlain,
  },
];
const ENCRYPTED_KEYS: KeySpec[] = [
  {
    serial: 'ENC-TOTP-1',
    manufacturer: 'Crypto Tokens',
    model: 'Sealed T',
    algorithm: 'totp',
    digits: 8,
    period: 60,
    secretHex: SECRETS.totpEncrypted,
  },
  {
    serial: 'ENC-HOTP-1',
    manufacturer: 'Crypto Tokens',
    model: 'Sealed H',
    algorithm: 'hotp',
    digits: 6,
    counter: 100,
    secretHex: SECRETS.hotpEncrypted,
  },
];
/** Tokens that must never reach the inventory: every file built from them is refused. */
const REFUSED_KEYS: KeySpec[] = [
  { serial: 'NEVER-1', manufacturer: 'Refused', algorithm: 'totp', secretHex: SECRETS.refused },
  { serial: 'NEVER-2', manufacturer: 'Refused', algorithm: 'hotp', secretHex: seed('refused 2') },
];

// Generated once for every database: python3-pskc takes ~100 ms to start.
const plainFile = generatePSKC({ keys: PLAIN_KEYS });
const encryptedFile = generatePSKC({ keys: ENCRYPTED_KEYS, encryption: { keyHex: PRE_SHARED_KEY_HEX } });
const refusedEncrypted = generatePSKC({ keys: REFUSED_KEYS, encryption: { keyHex: PRE_SHARED_KEY_HEX } });
const refusedPlain = generatePSKC({ keys: REFUSED_KEYS });

const BILLION_LAUGHS = [
  '<?xml version="1.0"?>',
  '<!DOCTYPE lolz [',
  ' <!ENTITY lol "lol">',
  ...Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`),
  ']>',
  '<KeyContainer xmlns="urn:ietf:params:xml:ns:keyprov:pskc" Version="1.0"><KeyPackage><Key',
  ' Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><Issuer>&lol9;</Issuer></Key></KeyPackage></KeyContainer>',
].join('\n');
const EXTERNAL_ENTITY = refusedPlain
  .replace(
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE pskc:KeyContainer [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
  )
  .replace('<pskc:Manufacturer>Refused', '<pskc:Manufacturer>&xxe;');

/** Every spelling of a planted seed an output could leak it in. */
function spellings(hex: string): string[] {
  const bytes = Buffer.from(hex, 'hex');
  return [
    hex,
    hex.toUpperCase(),
    encodeBase32(bytes),
    encodeBase32(bytes).replace(/=+$/, ''),
    bytes.toString('base64'),
    bytes.toString('base64url'),
  ];
}

/** A TOTP code from oathtool at a Unix time in milliseconds. */
function totpCode(secretHex: string, timeMs: number, options: { digits?: number; period?: number } = {}) {
  return execFileSync(
    OATHTOOL,
    [
      '--totp',
      `--digits=${options.digits ?? 6}`,
      `--time-step-size=${options.period ?? 30}s`,
      '-N',
      `@${Math.floor(timeMs / 1000)}`,
      secretHex,
    ],
    { encoding: 'utf8' },
  ).trim();
}

/** An HOTP code from oathtool for one counter. */
function hotpCode(secretHex: string, counter: number): string {
  return execFileSync(OATHTOOL, ['--hotp', '-c', String(counter), secretHex], { encoding: 'utf8' }).trim();
}

describe.skipIf(NO_CLIENTS).each(DATABASE_KINDS)('hardware tokens over HTTP [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;
  let accountId: string;
  let adminToken: string;
  let adminId: string;
  let userId: string;
  let user2Id: string;
  /** Every response body, scanned for seeds at the end. */
  const bodies: string[] = [];
  /** Filled by the tests: factor ids by token serial. */
  const factorOf: Record<string, string> = {};
  let userMfaToken = '';
  let adminMfaToken = '';
  let adminPasswordToken = '';

  const call = async (options: InjectOptions) => {
    const res = await server.inject(options);
    bodies.push(res.body);
    return res;
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const signIn = (login: string) =>
    call({ method: 'POST', url: '/v1/sign-in', payload: { account: 'acme', login, password: PASSWORD } });
  const passwordSession = async (login: string) => {
    const res = await signIn(login);
    expect(res.json().status).toBe('signed_in');
    return res.json().token as string;
  };
  const importFile = (payload: Record<string, unknown>, token = adminToken) =>
    call({ method: 'POST', url: '/v1/hardware-tokens/import', headers: bearer(token), payload });
  const inventory = async (query = '') => {
    const res = await call({ url: `/v1/hardware-tokens${query}`, headers: bearer(adminToken) });
    expect(res.statusCode).toBe(200);
    return res.json().tokens as Array<Record<string, unknown>>;
  };
  const tokenRows = () => inst.store.hardwareTokens.list(accountId);
  const auditCount = () => inst.store.audit.count();
  /** Signs in with the password, then with the factor's code; returns the answer. */
  const signInWithFactor = async (login: string, factorId: string, code: string) => {
    const first = await signIn(login);
    expect(first.json().status).toBe('second_factor_required');
    expect(first.json().factors.map((f: { id: string }) => f.id)).toContain(factorId);
    return call({
      method: 'POST',
      url: '/v1/sign-in/second-factor',
      payload: { flowId: first.json().flowId, factorId, code },
    });
  };

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    ({ accountId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'owner@acme.test',
      password: PASSWORD,
    }));
    ({ userId: adminId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'admin@acme.test',
      password: PASSWORD,
      role: 'admin',
    }));
    ({ userId } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'user@acme.test',
      password: PASSWORD,
      role: 'user',
    }));
    ({ userId: user2Id } = await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'user2@acme.test',
      password: PASSWORD,
      role: 'user',
    }));
    await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'help@acme.test',
      password: PASSWORD,
      role: 'helpdesk',
    });
    server = await buildTestServer(inst);
    // Inventory administration needs an MFA session (G2); the sign-in flow is tested in mfa.test.ts.
    adminToken = await mfaSessionToken(inst, { accountName: 'acme', login: 'admin@acme.test' });
    const passwordOnly = await call({
      url: '/v1/hardware-tokens',
      headers: bearer(await passwordSession('admin@acme.test')),
    });
    expect(passwordOnly.json().error).toMatchObject({ code: 'MFA_STEP_UP_REQUIRED', guardrail: 'G2' });
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('imports a plain PSKC file from python3-pskc into the inventory, seeds sealed and never shown', async () => {
    expect(plainFile).toContain('<pskc:PlainValue>');
    const before = await auditCount();
    const res = await importFile({ pskc: plainFile });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      importId: expect.stringMatching(/^imp_/),
      imported: 3,
      serials: ['TOTP-0001', 'TOTP-0002', 'HOTP-0001'],
    });
    const tokens = await inventory();
    expect(tokens.map((t) => [t.serial, t.manufacturer, t.model, t.state, t.mode, t.digits])).toEqual([
      ['HOTP-0001', 'Event Co', 'Button 1', 'unassigned', 'hotp', 6],
      ['TOTP-0001', 'ACME Tokens', 'Time Token 6', 'unassigned', 'totp', 6],
      ['TOTP-0002', 'ACME Tokens', 'Time Token 6', 'unassigned', 'totp', 6],
    ]);
    for (const token of tokens) {
      expect(Object.keys(token)).not.toContain('secretSealed');
      expect(token.importId).toBe(res.json().importId);
    }
    // One audit record for the whole import: counts and manufacturers, never a seed.
    expect(await auditCount()).toBe(before + 1);
    const [record] = await inst.store.audit.query({ action: 'hardware_token.import', limit: 10 });
    expect(record!.outcome).toBe('success');
    expect(record!.details).toMatchObject({
      importId: res.json().importId,
      count: 3,
      preSharedKeyGiven: false,
      manufacturers: ['ACME Tokens: 2', 'Event Co: 1'],
    });
    // Sealed under the master key, bound to the token id (the key-rotation context).
    const stored = (await tokenRows()).find((t) => t.serial === 'TOTP-0001')!;
    expect(stored.secretSealed).toMatch(/^v1\./);
    expect(
      Buffer.from(inst.app.deps.secretBox.open(stored.secretSealed, `hwtoken:${stored.id}`)).toString('hex'),
    ).toBe(SECRETS.totpPlain);
  });

  it('imports a file encrypted with a pre-shared key (RFC 6030 §6.1, AES-128-CBC + HMAC-SHA1)', async () => {
    expect(encryptedFile).toContain('xmlenc#aes128-cbc');
    expect(encryptedFile).toContain('<pskc:MACKey>');
    const res = await importFile({ pskc: encryptedFile, preSharedKey: PRE_SHARED_KEY_HEX.toUpperCase() });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ imported: 2, serials: ['ENC-TOTP-1', 'ENC-HOTP-1'] });
    const tokens = await inventory('?state=unassigned');
    expect(tokens).toHaveLength(5);
    expect(tokens.find((t) => t.serial === 'ENC-TOTP-1')).toMatchObject({
      manufacturer: 'Crypto Tokens',
      model: 'Sealed T',
      mode: 'totp',
      digits: 8,
      period: 60,
      state: 'unassigned',
    });
    expect(tokens.find((t) => t.serial === 'ENC-HOTP-1')).toMatchObject({ mode: 'hotp', period: null });
    expect(await inventory('?state=assigned')).toEqual([]);
    // Pages ordered by serial: two of two, then the rest, then nothing.
    const page1 = await call({
      url: '/v1/hardware-tokens?state=unassigned&limit=2',
      headers: bearer(adminToken),
    });
    const serials1 = page1.json().tokens.map((t: { serial: string }) => t.serial);
    expect(serials1).toEqual([...serials1].sort());
    expect(page1.json().nextAfter).toBe(serials1[1]);
    const page2 = await call({
      url: `/v1/hardware-tokens?state=unassigned&limit=2&after=${encodeURIComponent(serials1[1])}`,
      headers: bearer(adminToken),
    });
    const serials2 = page2.json().tokens.map((t: { serial: string }) => t.serial);
    expect(serials2.every((s: string) => s > serials1[1])).toBe(true);
    expect(serials2).toHaveLength(2);
    const bad = await call({ url: '/v1/hardware-tokens?limit=0', headers: bearer(adminToken) });
    expect(bad.json().error.code).toBe('REQUEST_INVALID');
  });

  it.each([
    ['a malformed file', { pskc: '<KeyContainer><KeyPackage></Key></KeyContainer>' }, 400, 'PSKC_MALFORMED'],
    [
      'a truncated file',
      { pskc: refusedPlain.slice(0, Math.floor(refusedPlain.length * 0.6)) },
      400,
      'PSKC_MALFORMED',
    ],
    [
      'a truncated encrypted file',
      { pskc: refusedEncrypted.slice(0, refusedEncrypted.length - 40), preSharedKey: PRE_SHARED_KEY_HEX },
      400,
      'PSKC_MALFORMED',
    ],
    [
      'the wrong pre-shared key',
      { pskc: refusedEncrypted, preSharedKey: 'ffeeddccbbaa99887766554433221100' },
      400,
      'PSKC_DECRYPT_FAILED',
    ],
    ['no pre-shared key for an encrypted file', { pskc: refusedEncrypted }, 400, 'PSKC_KEY_REQUIRED'],
    ['billion laughs (entity expansion)', { pskc: BILLION_LAUGHS }, 400, 'PSKC_FORBIDDEN_DTD'],
    ['an external entity (XXE)', { pskc: EXTERNAL_ENTITY }, 400, 'PSKC_FORBIDDEN_DTD'],
    [
      'a pre-shared key that is not hex',
      { pskc: refusedEncrypted, preSharedKey: 'not hex!' },
      400,
      'REQUEST_INVALID',
    ],
    ['an odd number of hex digits', { pskc: refusedEncrypted, preSharedKey: 'abc' }, 400, 'REQUEST_INVALID'],
  ])('refuses %s and imports nothing', async (_label, payload, status, code) => {
    const rowsBefore = (await tokenRows()).length;
    const auditBefore = await auditCount();
    const res = await importFile(payload);
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(await tokenRows()).toHaveLength(rowsBefore);
    expect((await inventory()).map((t) => t.serial)).not.toEqual(expect.arrayContaining(['NEVER-1']));
    if (code === 'REQUEST_INVALID') {
      // Refused before the file is even read: nothing to audit.
      expect(await auditCount()).toBe(auditBefore);
    } else {
      // The refusal is audited (who tried what, and why), with nothing of the file but its error.
      expect(await auditCount()).toBe(auditBefore + 1);
      const last = (await inst.store.audit.query({ action: 'hardware_token.import', limit: 1000 })).at(-1)!;
      expect(last).toMatchObject({ outcome: 'failure', errorCode: code, actorId: adminId });
    }
  });

  it('refuses a file whose serial is already in the inventory, importing none of its tokens', async () => {
    const file = generatePSKC({ keys: [REFUSED_KEYS[0]!, { ...REFUSED_KEYS[1]!, serial: 'TOTP-0002' }] });
    const rowsBefore = await tokenRows();
    const res = await importFile({ pskc: file });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'HARDWARE_TOKEN_SERIAL_TAKEN', serial: 'TOTP-0002' });
    const rowsAfter = await tokenRows();
    expect(rowsAfter).toEqual(rowsBefore);
    expect(rowsAfter.map((t) => t.serial)).not.toContain('NEVER-1');
  });

  it('refuses a file that names one serial twice', async () => {
    const file = generatePSKC({ keys: [REFUSED_KEYS[0]!, { ...REFUSED_KEYS[1]!, serial: 'NEVER-1' }] });
    const res = await importFile({ pskc: file });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('HARDWARE_TOKEN_SERIAL_TAKEN');
    expect((await tokenRows()).map((t) => t.serial)).not.toContain('NEVER-1');
  });

  it('lets only admins import, list, assign and change tokens (users and help desk: AUTH_FORBIDDEN)', async () => {
    const userToken = await passwordSession('user@acme.test');
    const helpToken = await passwordSession('help@acme.test');
    for (const token of [userToken, helpToken]) {
      expect((await importFile({ pskc: refusedPlain }, token)).json().error.code).toBe('AUTH_FORBIDDEN');
      const list = await call({ url: '/v1/hardware-tokens', headers: bearer(token) });
      expect(list.statusCode).toBe(403);
      const assign = await call({
        method: 'POST',
        url: '/v1/hardware-tokens/TOTP-0002/assign',
        headers: bearer(token),
        payload: { user: 'user@acme.test' },
      });
      expect(assign.json().error.code).toBe('AUTH_FORBIDDEN');
      const state = await call({
        method: 'POST',
        url: '/v1/hardware-tokens/TOTP-0002/state',
        headers: bearer(token),
        payload: { state: 'lost' },
      });
      expect(state.json().error.code).toBe('AUTH_FORBIDDEN');
    }
    // Without a session the large body is refused before it is read.
    const anonymous = await call({
      method: 'POST',
      url: '/v1/hardware-tokens/import',
      payload: { pskc: refusedPlain },
    });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error.code).toBe('AUTH_SESSION_REQUIRED');
    expect((await tokenRows()).map((t) => t.serial)).not.toContain('NEVER-1');
  });

  it('takes a body up to 16 MiB on the import route only', async () => {
    const big = { pskc: `<KeyContainer>${' '.repeat(1024 * 1024)}</Key>` };
    const res = await importFile(big);
    expect(res.json().error.code).toBe('PSKC_MALFORMED');
    const tooBig = await importFile({ pskc: ' '.repeat(16 * 1024 * 1024) });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json().error.code).toBe('REQUEST_TOO_LARGE');
    const elsewhere = await call({
      method: 'POST',
      url: '/v1/hardware-tokens/TOTP-0001/assign',
      headers: bearer(adminToken),
      payload: { user: 'user@acme.test', name: 'x'.repeat(100 * 1024) },
    });
    expect(elsewhere.json().error.code).toBe('REQUEST_TOO_LARGE');
  });

  it('assigns a TOTP token to a user as a pending, admin-provisioned factor that does not expire', async () => {
    const res = await call({
      method: 'POST',
      url: '/v1/hardware-tokens/TOTP-0001/assign',
      headers: bearer(adminToken),
      payload: { user: 'user@acme.test' },
    });
    expect(res.statusCode).toBe(201);
    const { token, factor } = res.json();
    expect(token).toMatchObject({ serial: 'TOTP-0001', state: 'assigned', userId, factorId: factor.id });
    expect(factor).toMatchObject({
      kind: 'hardware_token',
      name: 'Token TOTP-0001',
      status: 'pending',
      assurance: 'hardware_otp',
      adminProvisioned: true,
      pendingExpiresAt: null,
    });
    factorOf['TOTP-0001'] = factor.id;
    const stored = await inst.store.factors.findById(accountId, factor.id);
    expect(stored).toMatchObject({ hardwareTokenId: token.id, pendingSessionId: null, principalId: userId });
    // Re-sealed under the factor's own context: the seed is bound to the factor now.
    expect(
      Buffer.from(inst.app.deps.secretBox.open(stored!.secretSealed, `factor:${factor.id}`)).toString('hex'),
    ).toBe(SECRETS.totpPlain);
    const messages = await inst.store.outbox.listForPrincipal(userId);
    expect(messages.map((m) => m.template)).toContain('factor.assigned');
    const [audit] = (await inst.store.audit.query({ action: 'hardware_token.assign', limit: 10 })).slice(-1);
    expect(audit!.details).toMatchObject({ serial: 'TOTP-0001', principalId: userId, factorId: factor.id });

    // A day later it is still waiting for its user.
    inst.clock.advance(24 * 60 * 60_000);
    adminToken = await mfaSessionToken(inst, { accountName: 'acme', login: 'admin@acme.test' });
    adminPasswordToken = await passwordSession('admin@acme.test');
    const userToken = await passwordSession('user@acme.test');
    const mine = await call({ url: '/v1/factors', headers: bearer(userToken) });
    expect(mine.json().factors).toEqual([expect.objectContaining({ id: factor.id, status: 'pending' })]);
  });

  it('refuses a token that is not unassigned, an unknown serial or user, a taken name and a full set', async () => {
    const assign = (serial: string, payload: Record<string, unknown>) =>
      call({
        method: 'POST',
        url: `/v1/hardware-tokens/${serial}/assign`,
        headers: bearer(adminToken),
        payload,
      });
    expect((await assign('TOTP-0001', { user: 'user2@acme.test' })).json().error.code).toBe(
      'HARDWARE_TOKEN_UNAVAILABLE',
    );
    expect((await assign('NO-SUCH', { user: 'user2@acme.test' })).json().error.code).toBe(
      'HARDWARE_TOKEN_NOT_FOUND',
    );
    expect((await assign('TOTP-0002', { user: 'ghost@acme.test' })).json().error.code).toBe('USER_NOT_FOUND');
    expect(
      (await assign('TOTP-0002', { user: 'user@acme.test', name: 'Token TOTP-0001' })).json().error.code,
    ).toBe('FACTOR_NAME_TAKEN');
    const settings = inst.app.deps.settings.mfa;
    const max = settings.maxFactors;
    settings.maxFactors = 1;
    try {
      expect((await assign('TOTP-0002', { user: 'user@acme.test' })).json().error.code).toBe(
        'FACTOR_LIMIT_REACHED',
      );
    } finally {
      settings.maxFactors = max;
    }
    // Nothing of the refused attempts stuck.
    const token = (await tokenRows()).find((t) => t.serial === 'TOTP-0002')!;
    expect(token).toMatchObject({ state: 'unassigned', principalId: null, factorId: null });
    expect(await inst.store.factors.listByPrincipal(accountId, userId)).toHaveLength(1);
  });

  it('binds a token to one factor only, when two admins assign it at the same moment', async () => {
    const results = await Promise.all(
      ['user@acme.test', 'user2@acme.test', 'help@acme.test'].map((user) =>
        call({
          method: 'POST',
          url: '/v1/hardware-tokens/TOTP-0002/assign',
          headers: bearer(adminToken),
          payload: { user },
        }),
      ),
    );
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, 409, 409]);
    const winner = results.find((r) => r.statusCode === 201)!.json().factor.id as string;
    const token = (await tokenRows()).find((t) => t.serial === 'TOTP-0002')!;
    expect(token).toMatchObject({ state: 'assigned', factorId: winner });
    const { rows } = await sql<{
      id: string;
    }>`select id from factors where hardware_token_id = ${token.id}`.execute(inst.database.kysely);
    expect(rows.map((r) => r.id)).toEqual([winner]);
    // Back in stock for later tests (a pending factor: no step-up needed).
    const winnerUser = (await inst.store.factors.findById(accountId, winner))!.principalId;
    const removed = await call({
      method: 'DELETE',
      url: `/v1/users/${winnerUser}/factors/${winner}`,
      headers: bearer(adminToken),
    });
    expect(removed.statusCode).toBe(204);
    expect((await tokenRows()).find((t) => t.serial === 'TOTP-0002')!.state).toBe('unassigned');
  });

  it('the user enables the token with two consecutive codes and signs in with it (hardware_otp, hwk)', async () => {
    const factorId = factorOf['TOTP-0001']!;
    const userToken = await passwordSession('user@acme.test');
    const now = inst.clock.now();
    const enable = (codes: [string, string]) =>
      call({
        method: 'POST',
        url: `/v1/factors/${factorId}/enable`,
        headers: bearer(userToken),
        payload: { codes },
      });
    // Codes of another token change nothing.
    const wrong = await enable([totpCode(SECRETS.totpAdmin, now - 30_000), totpCode(SECRETS.totpAdmin, now)]);
    expect(wrong.json().error.code).toBe('FACTOR_CODE_INVALID');
    const res = await enable([totpCode(SECRETS.totpPlain, now - 30_000), totpCode(SECRETS.totpPlain, now)]);
    expect(res.statusCode).toBe(200);
    expect(res.json().factor).toMatchObject({ status: 'enabled', adminProvisioned: true });

    inst.clock.advance(30_000);
    const signedIn = await signInWithFactor(
      'user@acme.test',
      factorId,
      totpCode(SECRETS.totpPlain, inst.clock.now()),
    );
    expect(signedIn.statusCode).toBe(200);
    const { session } = signedIn.json();
    expect(session.mfa).toMatchObject({ factorId, kind: 'hardware_token', assurance: 'hardware_otp' });
    expect(session.methods).toContain('hwk');
    userMfaToken = signedIn.json().token as string;
  });

  it('the user cannot remove an admin-provisioned token, even from a fresh MFA session', async () => {
    const res = await call({
      method: 'DELETE',
      url: `/v1/factors/${factorOf['TOTP-0001']}`,
      headers: bearer(userMfaToken),
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('FACTOR_ADMIN_PROVISIONED');
    expect(await inst.store.factors.findById(accountId, factorOf['TOTP-0001']!)).not.toBeNull();
  });

  it('an admin holding an HOTP token enables it for a user; look-ahead accepts a code 5 ahead, never a replay', async () => {
    const assigned = await call({
      method: 'POST',
      url: '/v1/hardware-tokens/HOTP-0001/assign',
      headers: bearer(adminToken),
      payload: { user: user2Id, name: 'Desk token' },
    });
    expect(assigned.statusCode).toBe(201);
    const factorId = assigned.json().factor.id as string;
    factorOf['HOTP-0001'] = factorId;
    const enabled = await call({
      method: 'POST',
      url: `/v1/users/${user2Id}/factors/${factorId}/enable`,
      headers: bearer(adminToken),
      payload: { codes: [hotpCode(SECRETS.hotpPlain, 0), hotpCode(SECRETS.hotpPlain, 1)] },
    });
    expect(enabled.statusCode).toBe(200);
    expect(enabled.json().factor).toMatchObject({ status: 'enabled', name: 'Desk token' });
    expect((await inst.store.factors.findById(accountId, factorId))!.lastCounter).toBe(1);

    // Next expected counter is 2; the button was pressed 5 more times without use.
    const ahead = await signInWithFactor('user2@acme.test', factorId, hotpCode(SECRETS.hotpPlain, 7));
    expect(ahead.statusCode).toBe(200);
    expect(ahead.json().session.mfa.assurance).toBe('hardware_otp');
    for (const counter of [7, 6]) {
      const replay = await signInWithFactor(
        'user2@acme.test',
        factorId,
        hotpCode(SECRETS.hotpPlain, counter),
      );
      expect(replay.statusCode).toBe(401);
      expect(replay.json().error.code).toBe('MFA_FAILED');
    }
    const next = await signInWithFactor('user2@acme.test', factorId, hotpCode(SECRETS.hotpPlain, 8));
    expect(next.statusCode).toBe(200);
  });

  it('an admin can take an assigned token too, and reads the encrypted counter (100) from the file', async () => {
    const assigned = await call({
      method: 'POST',
      url: '/v1/hardware-tokens/ENC-HOTP-1/assign',
      headers: bearer(adminToken),
      payload: { user: 'admin@acme.test' },
    });
    expect(assigned.statusCode).toBe(201);
    const factorId = assigned.json().factor.id as string;
    // Counters before the file's 100 are never accepted.
    const early = await call({
      method: 'POST',
      url: `/v1/factors/${factorId}/enable`,
      headers: bearer(adminToken),
      payload: { codes: [hotpCode(SECRETS.hotpEncrypted, 98), hotpCode(SECRETS.hotpEncrypted, 99)] },
    });
    expect(early.json().error.code).toBe('FACTOR_CODE_INVALID');
    const enabled = await call({
      method: 'POST',
      url: `/v1/factors/${factorId}/enable`,
      headers: bearer(adminToken),
      payload: { codes: [hotpCode(SECRETS.hotpEncrypted, 100), hotpCode(SECRETS.hotpEncrypted, 101)] },
    });
    expect(enabled.statusCode).toBe(200);
    const mfa = await signInWithFactor('admin@acme.test', factorId, hotpCode(SECRETS.hotpEncrypted, 102));
    expect(mfa.statusCode).toBe(200);
    adminMfaToken = mfa.json().token as string;
  });

  it('marking a token lost removes its factor, tells the user, and needs a recent MFA when it was enabled', async () => {
    const lost = (token: string, serial = 'TOTP-0001', state = 'lost') =>
      call({
        method: 'POST',
        url: `/v1/hardware-tokens/${serial}/state`,
        headers: bearer(token),
        payload: { state },
      });
    // The admin's password-only session (signed in before it had a factor) ended when its first
    // factor was enabled; an MFA older than the step-up age may not do it either.
    const ended = await lost(adminPasswordToken);
    expect(ended.statusCode).toBe(401);
    expect(ended.json().error.code).toBe('AUTH_SESSION_INVALID');
    const stale = await mfaSessionToken(inst, {
      accountName: 'acme',
      login: 'admin@acme.test',
      factorAt: inst.clock.now() - 20 * 60_000,
    });
    const noMFA = await lost(stale);
    expect(noMFA.statusCode).toBe(403);
    expect(noMFA.json().error.code).toBe('MFA_STEP_UP_REQUIRED');
    expect((await tokenRows()).find((t) => t.serial === 'TOTP-0001')!.state).toBe('assigned');

    const res = await lost(adminMfaToken);
    expect(res.statusCode).toBe(200);
    expect(res.json().token).toMatchObject({ serial: 'TOTP-0001', state: 'lost', factorId: null, userId });
    expect(await inst.store.factors.findById(accountId, factorOf['TOTP-0001']!)).toBeNull();
    const templates = (await inst.store.outbox.listForPrincipal(userId)).map((m) => m.template);
    expect(templates).toContain('factor.removed');
    const [audit] = (await inst.store.audit.query({ action: 'hardware_token.state', limit: 10 })).slice(-1);
    expect(audit!.details).toMatchObject({
      serial: 'TOTP-0001',
      from: 'assigned',
      to: 'lost',
      removedFactorId: factorOf['TOTP-0001'],
    });
    // The user no longer has a second factor to offer.
    expect((await signIn('user@acme.test')).json().status).toBe('signed_in');

    // A pending (never enabled) assignment goes without step-up.
    const pending = await call({
      method: 'POST',
      url: '/v1/hardware-tokens/ENC-TOTP-1/assign',
      headers: bearer(adminToken),
      payload: { user: 'user@acme.test' },
    });
    const pendingFactor = pending.json().factor.id as string;
    expect((await lost(adminToken, 'ENC-TOTP-1')).statusCode).toBe(200);
    expect(await inst.store.factors.findById(accountId, pendingFactor)).toBeNull();

    // Found again: back in stock; retired is final; an assignment is not overwritten by hand.
    const found = await lost(adminToken, 'TOTP-0001', 'unassigned');
    expect(found.json().token).toMatchObject({ state: 'unassigned', userId: null });
    expect((await lost(adminToken, 'ENC-TOTP-1', 'retired')).json().token.state).toBe('retired');
    expect((await lost(adminToken, 'ENC-TOTP-1', 'unassigned')).json().error.code).toBe(
      'HARDWARE_TOKEN_UNAVAILABLE',
    );
    expect((await lost(adminToken, 'HOTP-0001', 'unassigned')).json().error.code).toBe(
      'HARDWARE_TOKEN_UNAVAILABLE',
    );
    expect((await lost(adminToken, 'NO-SUCH')).json().error.code).toBe('HARDWARE_TOKEN_NOT_FOUND');
    expect((await lost(adminToken, 'TOTP-0001', 'assigned')).json().error.code).toBe('REQUEST_INVALID');
  });

  it('an admin removes a user’s token factor; the token goes back to unassigned', async () => {
    const res = await call({
      method: 'DELETE',
      url: `/v1/users/${user2Id}/factors/${factorOf['HOTP-0001']}`,
      headers: bearer(adminMfaToken),
    });
    expect(res.statusCode).toBe(204);
    const token = (await inventory()).find((t) => t.serial === 'HOTP-0001')!;
    expect(token).toMatchObject({ state: 'unassigned', userId: null, factorId: null });
  });

  it('never shows a seed: not in any answer, the audit log, the outbox, or the database rows', async () => {
    const planted = Object.values(SECRETS).flatMap(spellings);
    const audit = JSON.stringify(await inst.store.audit.scan(0, 100_000));
    const dump: string[] = [];
    for (const table of ['hardware_tokens', 'factors', 'outbox', 'audit_log', 'flows', 'sessions']) {
      const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(
        inst.database.kysely,
      );
      dump.push(JSON.stringify(rows));
    }
    expect(bodies.length).toBeGreaterThan(40);
    for (const secret of planted) {
      for (const [where, text] of [
        ['responses', bodies.join('\n')],
        ['audit log', audit],
        ['database', dump.join('\n')],
      ] as const) {
        expect(text.includes(secret), `${where} contains a seed`).toBe(false);
      }
    }
    // The scan looks for the forms a seed would take: hex, Base32 (as enrolment shows), base64.
    expect(spellings(SECRETS.totpPlain)[2]).toMatch(/^[A-Z2-7]{32}$/);
  });
});
