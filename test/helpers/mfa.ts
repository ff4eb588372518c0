/**
 * Helpers for the second-factor suites: TOTP codes at a chosen time, a clock that follows the
 * wall clock (for independent clients and real server processes), and one small HTTP client
 * shape that works over `inject` and over real sockets, with the sign-in and enrolment calls.
 */
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { decodeBase32 } from '../../src/core/factors/otp/base32.js';
import { generateTOTP } from '../../src/core/factors/otp/totp.js';
import type { TestDatabaseKind } from './databases.js';
import {
  buildTestServer,
  createTestInstallation,
  createUserWithPassword,
  type TestInstallation,
} from './installation.js';

/** The password every test user gets. */
export const PASSWORD = 'correct horse battery staple';

/** The TOTP period enrolment issues (RFC 6238 §4.1 default). */
export const STEP_MS = 30_000;

/** The code an authenticator app shows at `timeMs` for a Base32 secret (SHA-1, 6 digits, 30 s). */
export function totpAt(secret: string, timeMs: number): string {
  return generateTOTP({ secret: decodeBase32(secret), timeMs, digits: 6, algorithm: 'SHA1', period: 30 });
}

/** The RFC 6238 time step of a time. */
export function stepOf(timeMs: number): number {
  return Math.floor(timeMs / STEP_MS);
}

/**
 * A clock that reads the wall clock. `createTestInstallation` takes a ManualClock; this one
 * ignores `set`/`advance` and always answers Date.now(), so codes from oathtool or pass match.
 */
export class WallClock extends ManualClock {
  constructor() {
    super(Date.now());
  }

  override now(): number {
    return Date.now();
  }
}

/** One HTTP call. `ip` is the client address: the socket's for inject, X-Forwarded-For over sockets. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  token?: string;
  ip?: string;
  headers?: Record<string, string>;
}

/** What a call answered: status, headers (lower-case names) and the parsed JSON body (or null). */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
  body: any;
}

/** A client: in-process (inject) or over the network (fetch). */
export type Http = (request: HttpRequest) => Promise<HttpResponse>;

function headersFor(request: HttpRequest): Record<string, string> {
  return {
    ...(request.token === undefined ? {} : { authorization: `Bearer ${request.token}` }),
    ...(request.headers ?? {}),
  };
}

/** A client over `server.inject`; `ip` becomes the socket's remote address. */
export function injectHttp(server: FastifyInstance): Http {
  return async (request) => {
    const res = await server.inject({
      method: request.method,
      url: request.url,
      ...(request.body === undefined ? {} : { payload: request.body as Record<string, unknown> }),
      remoteAddress: request.ip ?? '127.0.0.1',
      headers: headersFor(request),
    });
    return { status: res.statusCode, headers: res.headers, body: res.body === '' ? null : res.json() };
  };
}

/**
 * A client over real sockets to `baseUrl`. Every request comes from 127.0.0.1, so `ip` is sent
 * as X-Forwarded-For: the server must trust 127.0.0.1 as a proxy for it to count.
 */
export function fetchHttp(baseUrl: string): Http {
  return async (request) => {
    const headers = headersFor(request);
    if (request.ip !== undefined) headers['x-forwarded-for'] = request.ip;
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${baseUrl}${request.url}`, {
      method: request.method,
      headers,
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: Object.fromEntries(res.headers.entries()),
      body: text === '' ? null : JSON.parse(text),
    };
  };
}

/** The error code of a failed answer, or null. */
export function errorCodeOf(res: HttpResponse): string | null {
  return (res.body?.error?.code as string | undefined) ?? null;
}

/** Asserts an answer's status and error code together (the message is never asserted). */
export function expectError(res: HttpResponse, status: number, code: string): void {
  expect({ status: res.status, code: errorCodeOf(res) }, JSON.stringify(res.body)).toEqual({ status, code });
}

/** Asserts a success status, showing the body when it is not. */
export function expectStatus(res: HttpResponse, status: number): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
}

let ipSeq = 0;
/** A client address no other call used (172.16.0.0/12), so per-source throttles never meet. */
export function uniqueIp(): string {
  ipSeq++;
  return `172.${16 + ((ipSeq >> 16) & 15)}.${(ipSeq >> 8) & 255}.${ipSeq & 255}`;
}

/** A proof for the factor step: a factor's code, or a recovery code. */
export type Proof = { factorId: string; code: string } | { recoveryCode: string };

/** The sign-in and enrolment calls of the API, for one account. */
export function mfaApi(http: Http, account: string) {
  const api = {
    http,
    /** POST /v1/sign-in (password step). */
    signIn: (login: string, options: { ip?: string; headers?: Record<string, string> } = {}) =>
      http({
        method: 'POST',
        url: '/v1/sign-in',
        body: { account, login, password: PASSWORD },
        ip: options.ip ?? uniqueIp(),
        ...(options.headers ? { headers: options.headers } : {}),
      }),
    /** A password-only session token (the user has no factor and no recovery codes). */
    async passwordToken(login: string): Promise<string> {
      const res = await api.signIn(login);
      expectStatus(res, 200);
      expect(res.body.status).toBe('signed_in');
      return res.body.token as string;
    },
    /** The password step of a user with second factors: the flow id. */
    async startFlow(login: string, ip?: string): Promise<string> {
      const res = await api.signIn(login, ip === undefined ? {} : { ip });
      expectStatus(res, 200);
      expect(res.body.status).toBe('second_factor_required');
      return res.body.flowId as string;
    },
    /** POST /v1/sign-in/second-factor. */
    secondFactor: (flowId: string, proof: Proof, ip?: string) =>
      http({
        method: 'POST',
        url: '/v1/sign-in/second-factor',
        body: { flowId, ...proof },
        ip: ip ?? uniqueIp(),
      }),
    /** POST /v1/factors/totp. */
    enrolTOTP: (token: string, name: string) =>
      http({ method: 'POST', url: '/v1/factors/totp', body: { name }, token }),
    /** POST /v1/factors/:id/enable with `{codes}` or `{code}`. */
    enable: (token: string, factorId: string, body: { codes: [string, string] } | { code: string }) =>
      http({ method: 'POST', url: `/v1/factors/${factorId}/enable`, body, token }),
    /** GET /v1/factors. */
    listFactors: (token: string) => http({ method: 'GET', url: '/v1/factors', token }),
  };
  return api;
}

/** The API client type `mfaApi` returns. */
export type MfaApi = ReturnType<typeof mfaApi>;

/**
 * A fresh installation of `kind` whose account `acme` has an owner (owner@acme.test, PASSWORD),
 * its HTTP server (not listening) and the sign-in and enrolment calls over `inject`.
 */
export async function acmeMfaServer(
  kind: TestDatabaseKind['name'],
): Promise<{ inst: TestInstallation; server: FastifyInstance; api: MfaApi }> {
  const inst = await createTestInstallation(kind);
  await createUserWithPassword(inst, { accountName: 'acme', email: 'owner@acme.test', password: PASSWORD });
  const server = await buildTestServer(inst);
  return { inst, server, api: mfaApi(injectHttp(server), 'acme') };
}

/** A plain PSKC file (RFC 6030 §5) holding one TOTP token (6 digits, 30 s, HMAC-SHA1). */
export function plainPSKC(serial: string, seed: Buffer): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<pskc:KeyContainer xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" Version="1.0">
  <pskc:KeyPackage>
    <pskc:DeviceInfo>
      <pskc:Manufacturer>Holdfast Test</pskc:Manufacturer>
      <pskc:SerialNo>${serial}</pskc:SerialNo>
    </pskc:DeviceInfo>
    <pskc:Key Id="${serial}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
      <pskc:AlgorithmParameters>
        <pskc:ResponseFormat Encoding="DECIMAL" Length="6"/>
      </pskc:AlgorithmParameters>
      <pskc:Data>
        <pskc:Secret><pskc:PlainValue>${seed.toString('base64')}</pskc:PlainValue></pskc:Secret>
        <pskc:TimeInterval><pskc:PlainValue>30</pskc:PlainValue></pskc:TimeInterval>
      </pskc:Data>
    </pskc:Key>
  </pskc:KeyPackage>
</pskc:KeyContainer>
`;
}
