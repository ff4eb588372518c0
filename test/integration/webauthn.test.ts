/**
 * WebAuthn factors over HTTP (inject), on SQLite and PostgreSQL, with the software authenticator:
 * registration of passkeys and security keys, the factor step of sign-in, step-up, passwordless
 * passkey sign-in (multi-factor only with user verification), the signature-counter rule
 * (W3C WebAuthn §6.1.1), origin and single-use challenge checks, guardrail G3, the factor limit,
 * admin-provisioned keys, and direct attestation against an imported FIDO metadata BLOB with an
 * AAGUID allow-list.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  mfaSessionToken,
  type TestInstallation,
} from '../helpers/installation.js';
import {
  createTestAttestationCA,
  issueTestCertificate,
  signTestJWS,
  SoftAuthenticator,
  type CeremonyOverrides,
} from '../helpers/soft-authenticator.js';

const PASSWORD = 'correct horse battery staple 42';
const ORIGIN = 'http://localhost:8080';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A passkey provider: discoverable, verifies the user, synced (backup eligible and backed up). */
const passkeyAuthenticator = () =>
  new SoftAuthenticator({ userVerified: true, backupEligible: true, backedUp: true, counter: 'none' });
/** A USB security key: touch only, a signature counter, device bound. */
const securityKey = (options: ConstructorParameters<typeof SoftAuthenticator>[0] = {}) =>
  new SoftAuthenticator({ transports: ['usb'], ...options });

describe.each(DATABASE_KINDS)('WebAuthn over HTTP [$name]', ({ name }) => {
  let inst: TestInstallation;
  let server: FastifyInstance;

  const post = async (url: string, payload: unknown, token?: string) =>
    server.inject({ method: 'POST', url, payload: payload as object, headers: token ? bearer(token) : {} });

  const passwordSignIn = async (login: string) => {
    const res = await post('/v1/sign-in', { account: 'acme', login, password: PASSWORD });
    expect(res.statusCode).toBe(200);
    return res.json();
  };

  /** Registers a key through the two routes; returns the final response. */
  const register = async (input: {
    token: string;
    authenticator: SoftAuthenticator;
    kind: 'passkey' | 'security_key';
    name: string;
    userRef?: string;
    overrides?: CeremonyOverrides;
  }) => {
    const base =
      input.userRef === undefined ? '/v1/factors/webauthn' : `/v1/users/${input.userRef}/factors/webauthn`;
    const options = await post(`${base}/options`, { kind: input.kind, name: input.name }, input.token);
    if (options.statusCode !== 200) return options;
    const { challengeId, options: creation } = options.json();
    const credential = input.authenticator.createCredential({
      options: creation,
      origin: ORIGIN,
      ...(input.overrides ? { overrides: input.overrides } : {}),
    });
    return post(base, { challengeId, credential }, input.token);
  };

  /** Password + WebAuthn assertion; returns the final response. */
  const signInWithKey = async (
    login: string,
    authenticator: SoftAuthenticator,
    overrides?: CeremonyOverrides,
  ) => {
    const first = await passwordSignIn(login);
    expect(first.status).toBe('second_factor_required');
    const options = await post('/v1/sign-in/second-factor/webauthn/options', { flowId: first.flowId });
    expect(options.statusCode).toBe(200);
    const { challengeId, options: request } = options.json();
    const credential = authenticator.getAssertion({
      options: request,
      origin: ORIGIN,
      ...(overrides ? { overrides } : {}),
    });
    return post('/v1/sign-in/second-factor/webauthn', { flowId: first.flowId, challengeId, credential });
  };

  const passkeySignIn = async (authenticator: SoftAuthenticator, overrides?: CeremonyOverrides) => {
    const options = await post('/v1/sign-in/passkey/options', { account: 'acme' });
    expect(options.statusCode).toBe(200);
    const { challengeId, options: request } = options.json();
    expect(request.allowCredentials ?? []).toEqual([]);
    const credential = authenticator.getAssertion({
      options: request,
      origin: ORIGIN,
      ...(overrides ? { overrides } : {}),
    });
    return post('/v1/sign-in/passkey', { challengeId, credential });
  };

  const auditActions = async () => (await inst.store.audit.scan(0, 100_000)).map((r) => r);

  // Shared state of the main user across the ordered tests below.
  const alicePasskey = passkeyAuthenticator();
  const aliceKey = securityKey();
  let aliceId = '';
  let aliceKeyFactorId = '';

  beforeAll(async () => {
    inst = await createTestInstallation(name);
    await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
    for (const email of ['alice', 'bob', 'carol', 'admin', 'dave'].map((u) => `${u}@acme.test`)) {
      await createUserWithPassword(inst, {
        accountName: 'acme',
        email,
        password: PASSWORD,
        role: email.startsWith('admin') ? 'admin' : 'user',
      });
    }
    server = await buildTestServer(inst);
  });
  afterAll(async () => {
    await server?.close();
    await inst?.destroy();
  });

  it('registers a passkey, then (G3) a second key only from an MFA session', async () => {
    const signIn = await passwordSignIn('alice@acme.test');
    expect(signIn.status).toBe('signed_in');
    aliceId = signIn.user.id;
    const passwordOnly = signIn.token as string;

    const passkey = await register({
      token: passwordOnly,
      authenticator: alicePasskey,
      kind: 'passkey',
      name: 'Phone passkey',
    });
    expect(passkey.statusCode).toBe(201);
    expect(passkey.json().factor).toMatchObject({
      kind: 'webauthn',
      name: 'Phone passkey',
      status: 'enabled',
      assurance: 'synced_passkey',
      adminProvisioned: false,
    });

    // G3: with an enabled factor, a password-only session may not add another.
    const refused = await post(
      '/v1/factors/webauthn/options',
      { kind: 'security_key', name: 'USB key' },
      passwordOnly,
    );
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('MFA_STEP_UP_REQUIRED');

    // Signing in with the passkey as second factor gives an MFA session that may.
    const mfa = await signInWithKey('alice@acme.test', alicePasskey);
    expect(mfa.statusCode).toBe(200);
    expect(mfa.json().session.mfa).toMatchObject({ kind: 'webauthn', assurance: 'synced_passkey' });
    expect(mfa.json().session.methods).toEqual(['pwd', 'hwk']);
    const key = await register({
      token: mfa.json().token,
      authenticator: aliceKey,
      kind: 'security_key',
      name: 'USB key',
    });
    expect(key.statusCode).toBe(201);
    expect(key.json().factor).toMatchObject({ kind: 'webauthn', assurance: 'device_bound_key' });
    aliceKeyFactorId = key.json().factor.id;

    const stored = await inst.store.webauthn.listCredentials(signIn.user.accountId, aliceId);
    const facts = stored.map((c) => [c.discoverable, c.backupEligible, c.attestationFormat]);
    expect(facts.sort()).toEqual([
      [false, false, 'none'],
      [true, true, 'none'],
    ]);
    // One user handle per user, reused for every credential.
    expect(stored[0]!.userHandle).toBe(stored[1]!.userHandle);
    // Both factors are offered at sign-in, like any other.
    const offered = await passwordSignIn('alice@acme.test');
    expect(offered.factors.map((f: { kind: string }) => f.kind)).toEqual(['webauthn', 'webauthn']);
  });

  it('signs in with the security key, steps up with it, and advances its counter', async () => {
    const res = await signInWithKey('alice@acme.test', aliceKey);
    expect(res.statusCode).toBe(200);
    expect(res.json().session.mfa).toMatchObject({
      factorId: aliceKeyFactorId,
      assurance: 'device_bound_key',
    });
    const token = res.json().token as string;
    const before = (await inst.store.webauthn.findCredentialByFactor(aliceKeyFactorId))!.signCount;
    expect(before).toBeGreaterThan(0);

    const options = await post('/v1/session/step-up/webauthn/options', {}, token);
    expect(options.statusCode).toBe(200);
    const { challengeId, options: request } = options.json();
    const credential = aliceKey.getAssertion({ options: request, origin: ORIGIN });
    const stepped = await post('/v1/session/step-up/webauthn', { challengeId, credential }, token);
    expect(stepped.statusCode).toBe(200);
    expect(stepped.json().session.mfa.kind).toBe('webauthn');
    expect((await inst.store.webauthn.findCredentialByFactor(aliceKeyFactorId))!.signCount).toBe(before + 1);
  });

  it('signs in without a password with a passkey: MFA only when the user was verified', async () => {
    const verified = await passkeySignIn(alicePasskey);
    expect(verified.statusCode).toBe(200);
    expect(verified.json()).toMatchObject({ status: 'signed_in', multiFactor: true });
    expect(verified.json().user.id).toBe(aliceId);
    expect(verified.json().session.mfa).toMatchObject({ kind: 'webauthn', assurance: 'synced_passkey' });
    expect(verified.json().session.methods).toEqual(['hwk', 'mfa']);

    const presenceOnly = await passkeySignIn(alicePasskey, { userVerified: false });
    expect(presenceOnly.statusCode).toBe(200);
    expect(presenceOnly.json().multiFactor).toBe(false);
    expect(presenceOnly.json().session.mfa).toBeNull();
    // Such a session cannot do what needs MFA: removing a factor asks for a step-up (G1).
    const remove = await server.inject({
      method: 'DELETE',
      url: `/v1/factors/${aliceKeyFactorId}`,
      headers: bearer(presenceOnly.json().token),
    });
    expect(remove.json().error.code).toBe('MFA_STEP_UP_REQUIRED');

    // A security key is not discoverable: it cannot sign in alone.
    const options = await post('/v1/sign-in/passkey/options', { account: 'acme' });
    const { challengeId, options: request } = options.json();
    expect(() => aliceKey.getAssertion({ options: request, origin: ORIGIN })).toThrow(/NotAllowedError/);
    // A forged answer naming the security key's credential is refused like a wrong password.
    const forged = aliceKey.getAssertion({
      options: {
        ...request,
        allowCredentials: [{ id: [...aliceKey.credentials.keys()][0]!, type: 'public-key' }],
      },
      origin: ORIGIN,
    });
    const refused = await post('/v1/sign-in/passkey', { challengeId, credential: forged });
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('AUTH_INVALID_CREDENTIALS');
  });

  it('refuses a counter that went backwards, audits it as a security event and tells the user', async () => {
    const stored = (await inst.store.webauthn.findCredentialByFactor(aliceKeyFactorId))!;
    const res = await signInWithKey('alice@acme.test', aliceKey, { counter: stored.signCount });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('MFA_FAILED');
    const records = await auditActions();
    const clone = records.filter((r) => r.action === 'webauthn.clone_suspected').at(-1);
    expect(clone).toMatchObject({ target: aliceKeyFactorId, outcome: 'failure' });
    expect(clone!.details).toMatchObject({ security: true, storedCounter: stored.signCount });
    const failure = records.filter((r) => r.action === 'auth.mfa_sign_in').at(-1);
    expect(failure!.details.reason).toBe('clone_suspected');
    const templates = (await inst.store.outbox.listForPrincipal(aliceId)).map((m) => m.template);
    expect(templates).toContain('webauthn.clone_suspected');
    // The counter did not move.
    expect((await inst.store.webauthn.findCredentialByFactor(aliceKeyFactorId))!.signCount).toBe(
      stored.signCount,
    );
  });

  it('refuses a wrong origin and a challenge used twice', async () => {
    const wrongOrigin = await signInWithKey('alice@acme.test', aliceKey, { origin: 'https://evil.example' });
    expect(wrongOrigin.json().error.code).toBe('MFA_FAILED');
    const reasons = (await auditActions())
      .filter((r) => r.action === 'auth.mfa_sign_in')
      .map((r) => r.details.reason);
    expect(reasons.at(-1)).toBe('origin_mismatch');

    // A typed code for a WebAuthn factor is refused like a wrong code (never decrypted or accepted).
    const flow = await passwordSignIn('alice@acme.test');
    const code = await post('/v1/sign-in/second-factor', {
      flowId: flow.flowId,
      factorId: aliceKeyFactorId,
      code: '123456',
    });
    expect(code.statusCode).toBe(401);
    expect(code.json().error.code).toBe('MFA_FAILED');
    const codeReason = (await auditActions()).filter((r) => r.action === 'auth.mfa_sign_in').at(-1);
    expect(codeReason!.details.reason).toBe('code_for_codeless_factor');
    // Three failures in a row from one source: the next attempt waits (docs/mfa.md throttling).
    inst.clock.advance(5 * 60_000);

    // Step-up: the same assertion (and challenge) twice: the second is refused.
    const token = (await signInWithKey('alice@acme.test', aliceKey)).json().token as string;
    const options = (await post('/v1/session/step-up/webauthn/options', {}, token)).json();
    const credential = aliceKey.getAssertion({ options: options.options, origin: ORIGIN });
    const once = await post(
      '/v1/session/step-up/webauthn',
      { challengeId: options.challengeId, credential },
      token,
    );
    expect(once.statusCode).toBe(200);
    const twice = await post(
      '/v1/session/step-up/webauthn',
      { challengeId: options.challengeId, credential },
      token,
    );
    expect(twice.json().error.code).toBe('MFA_FAILED');
    // A fresh assertion on the used challenge is refused too.
    const again = aliceKey.getAssertion({ options: options.options, origin: ORIGIN });
    const third = await post(
      '/v1/session/step-up/webauthn',
      { challengeId: options.challengeId, credential: again },
      token,
    );
    expect(third.json().error.code).toBe('MFA_FAILED');
    const last = (await auditActions()).filter((r) => r.action === 'auth.mfa_step_up').at(-1);
    expect(last!.details.reason).toBe('challenge_invalid');

    // Registration with a wrong origin is refused and audited.
    const bobToken = (await passwordSignIn('bob@acme.test')).token as string;
    const bad = await register({
      token: bobToken,
      authenticator: securityKey(),
      kind: 'security_key',
      name: 'Key',
      overrides: { origin: 'http://localhost:9999' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('WEBAUTHN_REGISTRATION_FAILED');
    const failed = (await auditActions()).filter((r) => r.action === 'factor.enable').at(-1);
    expect(failed).toMatchObject({ outcome: 'failure', errorCode: 'WEBAUTHN_REGISTRATION_FAILED' });
    expect(failed!.details.reason).toBe('origin_mismatch');
    // A passkey without user verification is refused at registration.
    const noUV = await register({
      token: bobToken,
      authenticator: new SoftAuthenticator({ userVerified: false }),
      kind: 'passkey',
      name: 'Key',
    });
    expect(noUV.json().error.code).toBe('WEBAUTHN_REGISTRATION_FAILED');
  });

  it('keeps to the factor limit (8 by default)', async () => {
    const token = await mfaSessionToken(inst, { accountName: 'acme', login: 'carol@acme.test' });
    for (let i = 1; i <= 8; i++) {
      const res = await register({
        token,
        authenticator: securityKey(),
        kind: 'security_key',
        name: `Key ${i}`,
      });
      expect(res.statusCode, `key ${i}`).toBe(201);
    }
    const ninth = await post('/v1/factors/webauthn/options', { kind: 'security_key', name: 'Key 9' }, token);
    expect(ninth.statusCode).toBe(409);
    expect(ninth.json().error.code).toBe('FACTOR_LIMIT_REACHED');
  });

  it('lets an admin (MFA session) provision a key the user cannot remove', async () => {
    const adminPasswordOnly = (await passwordSignIn('admin@acme.test')).token as string;
    const device = securityKey();
    const g2 = await register({
      token: adminPasswordOnly,
      authenticator: device,
      kind: 'security_key',
      name: 'Issued key',
      userRef: 'dave@acme.test',
    });
    expect(g2.json().error.code).toBe('MFA_STEP_UP_REQUIRED');

    const admin = await mfaSessionToken(inst, { accountName: 'acme', login: 'admin@acme.test' });
    const provisioned = await register({
      token: admin,
      authenticator: device,
      kind: 'security_key',
      name: 'Issued key',
      userRef: 'dave@acme.test',
    });
    expect(provisioned.statusCode).toBe(201);
    expect(provisioned.json().factor).toMatchObject({ adminProvisioned: true, kind: 'webauthn' });
    const factorId = provisioned.json().factor.id as string;

    // A plain user cannot provision for someone else.
    const userToken = await mfaSessionToken(inst, { accountName: 'acme', login: 'bob@acme.test' });
    const forbidden = await post(
      '/v1/users/dave@acme.test/factors/webauthn/options',
      { kind: 'security_key', name: 'Mine' },
      userToken,
    );
    expect(forbidden.statusCode).toBe(403);

    // Dave signs in with it (an MFA session), and still cannot remove it.
    const dave = await signInWithKey('dave@acme.test', device);
    expect(dave.statusCode).toBe(200);
    const remove = await server.inject({
      method: 'DELETE',
      url: `/v1/factors/${factorId}`,
      headers: bearer(dave.json().token),
    });
    expect(remove.statusCode).toBe(403);
    expect(remove.json().error.code).toBe('FACTOR_ADMIN_PROVISIONED');
    // The admin can.
    const adminRemove = await server.inject({
      method: 'DELETE',
      url: `/v1/users/dave@acme.test/factors/${factorId}`,
      headers: bearer(admin),
    });
    expect(adminRemove.statusCode).toBe(204);
    expect(await inst.store.webauthn.findCredentialByFactor(factorId)).toBeNull();
  });

  // Last: it moves the clock to real time, since the test certificates are issued for now.
  it('verifies direct attestation against an imported MDS BLOB and an AAGUID allow-list', async () => {
    inst.clock.set(Date.now());
    const MODEL = '2fc0579f-8113-47ea-b116-bb5a8db9202a';
    const OTHER_MODEL = '0bb43545-fd2c-4185-87dd-feb0b2916ace';
    const vendor = createTestAttestationCA('Vendor A');
    const mdsRoot = issueTestCertificate({ subject: { C: 'SE', O: 'Test MDS', CN: 'MDS Root' }, ca: true });
    const mdsSigner = issueTestCertificate({
      subject: { C: 'SE', O: 'Test MDS', CN: 'MDS Signer' },
      issuer: mdsRoot,
    });
    const blob = (no: number) =>
      signTestJWS({
        payload: {
          no,
          nextUpdate: '2030-01-01',
          entries: [
            {
              aaguid: MODEL,
              metadataStatement: {
                description: 'Vendor A Key',
                attestationRootCertificates: [Buffer.from(vendor.root.der).toString('base64')],
              },
              statusReports: [{ status: 'FIDO_CERTIFIED', effectiveDate: '2025-01-01' }],
            },
          ],
        },
        chain: [mdsSigner, mdsRoot],
      });
    const account = (await inst.store.accounts.findByName('acme'))!;
    const ctx = { requestId: 'test', sourceIp: null, userAgent: 'test' };
    // A BLOB signed under another root is refused.
    const stranger = issueTestCertificate({ subject: { CN: 'Stranger Root' }, ca: true });
    await expect(
      inst.app.importWebAuthnMetadata({
        actor: { kind: 'operator' },
        ctx,
        accountId: account.id,
        blob: blob(3),
        roots: [stranger.pem],
      }),
    ).rejects.toMatchObject({ code: 'WEBAUTHN_METADATA_INVALID' });
    const imported = await inst.app.importWebAuthnMetadata({
      actor: { kind: 'operator' },
      ctx,
      accountId: account.id,
      blob: blob(3),
      roots: [mdsRoot.pem],
    });
    expect(imported).toMatchObject({ serialNumber: 3, entries: 1 });
    // An older (or the same) BLOB cannot replace it.
    await expect(
      inst.app.importWebAuthnMetadata({
        actor: { kind: 'operator' },
        ctx,
        accountId: account.id,
        blob: blob(2),
        roots: [mdsRoot.pem],
      }),
    ).rejects.toMatchObject({ code: 'WEBAUTHN_METADATA_INVALID' });
    await inst.app.setWebAuthnSettings({
      actor: { kind: 'operator' },
      ctx,
      accountId: account.id,
      allowedAAGUIDs: [MODEL.toUpperCase()],
    });

    // A user created now, inside the first-enrolment window (G3).
    await createUserWithPassword(inst, {
      accountName: 'acme',
      email: 'erin@acme.test',
      password: PASSWORD,
      role: 'user',
    });
    const token = (await passwordSignIn('erin@acme.test')).token as string;
    const options = await post(
      '/v1/factors/webauthn/options',
      { kind: 'security_key', name: 'Vendor key' },
      token,
    );
    expect(options.json().options.attestation).toBe('direct');

    // A model not on the list, and the listed model without a verifiable chain, are refused.
    const other = await register({
      token,
      authenticator: securityKey({ aaguid: OTHER_MODEL, attestation: { format: 'packed-x5c', ca: vendor } }),
      kind: 'security_key',
      name: 'Other key',
    });
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('WEBAUTHN_AUTHENTICATOR_NOT_ALLOWED');
    const selfAttested = await register({
      token,
      authenticator: securityKey({ aaguid: MODEL, attestation: { format: 'packed-self' } }),
      kind: 'security_key',
      name: 'Self key',
    });
    expect(selfAttested.json().error.code).toBe('WEBAUTHN_AUTHENTICATOR_NOT_ALLOWED');

    const attested = await register({
      token,
      authenticator: securityKey({
        aaguid: MODEL,
        userVerified: true,
        attestation: { format: 'packed-x5c', ca: vendor },
      }),
      kind: 'security_key',
      name: 'Vendor key',
    });
    expect(attested.statusCode).toBe(201);
    expect(attested.json().factor.assurance).toBe('attested_hardware_key');
    const credential = await inst.store.webauthn.findCredentialByFactor(attested.json().factor.id);
    expect(credential).toMatchObject({
      aaguid: MODEL,
      attestationFormat: 'packed',
      attestationVerified: true,
      aaguidAllowed: true,
    });
  });
});
