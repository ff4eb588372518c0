import { describe, expect, it } from 'vitest';
import { buildRequestContext, type BuildContextInput, type ContextValue } from './context.js';
import { cidrContains, parseCIDR, parseIP } from './ip-address.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const base: BuildContextInput = {
  principal: {
    accountId: '111122223333',
    username: 'alice',
    userid: 'AIDAX',
    arn: 'arn:aws:iam::111122223333:user/alice',
  },
  action: 'iam:GetUser',
  resource: 'arn:aws:iam::111122223333:user/alice',
  nowMs: NOW,
  credential: 'session',
  mfa: {
    authenticatedAtMs: NOW - 90_500,
    assurance: 'hardware_otp',
    factorKind: 'hardware_token',
    phishingResistant: false,
  },
  sourceIp: '192.0.2.1',
};
const mfa = base.mfa!;

const ROWS: Array<[string, Partial<BuildContextInput>, Record<string, ContextValue | undefined>]> = [
  [
    'session with MFA carries every MFA key',
    {},
    {
      'aws:multifactorauthpresent': true,
      'aws:multifactorauthage': 90,
      'holdfast:mfaassurance': 'hardware_otp',
      'holdfast:mfaassurancelevel': 30,
      'holdfast:mfafactorkind': 'hardware_token',
      'holdfast:phishingresistant': false,
    },
  ],
  [
    'session without MFA: present=false, no age or assurance',
    { mfa: null },
    {
      'aws:multifactorauthpresent': false,
      'aws:multifactorauthage': undefined,
      'holdfast:mfaassurancelevel': undefined,
      'holdfast:phishingresistant': false,
    },
  ],
  [
    'long-term key: no MFA key at all, even if MFA facts are passed',
    { credential: 'long-term-key', mfa },
    {
      'aws:multifactorauthpresent': undefined,
      'aws:multifactorauthage': undefined,
      'holdfast:mfaassurance': undefined,
      'holdfast:phishingresistant': undefined,
    },
  ],
  [
    'extra keys cannot spoof the MFA keys',
    {
      credential: 'long-term-key',
      mfa: null,
      extraKeys: { 'aws:MultiFactorAuthPresent': true, 'AWS:MultiFactorAuthAge': 1 },
    },
    { 'aws:multifactorauthpresent': undefined, 'aws:multifactorauthage': undefined },
  ],
  [
    'extra keys cannot spoof the user name or source address',
    {
      principal: { ...base.principal, username: undefined },
      sourceIp: undefined,
      extraKeys: { 'aws:username': 'root', 'aws:SourceIp': '10.0.0.1', 'holdfast:Tags': ['a'] },
    },
    { 'aws:username': undefined, 'aws:sourceip': undefined, 'holdfast:tags': ['a'] },
  ],
  [
    'time keys come from the request time',
    {},
    {
      'aws:currenttime': '2026-11-23T12:00:00.000Z',
      'aws:epochtime': NOW / 1000,
      'aws:principalaccount': '111122223333',
    },
  ],
  [
    'MFA age never negative',
    { mfa: { ...mfa, authenticatedAtMs: NOW + 5_000 } },
    { 'aws:multifactorauthage': 0 },
  ],
  [
    'aws:TokenIssueTime is the issue time of temporary credentials',
    { tokenIssuedAtMs: NOW - 3_600_000 },
    { 'aws:tokenissuetime': '2026-11-23T11:00:00.000Z' },
  ],
  [
    'aws:TokenIssueTime is absent for long-term keys',
    { credential: 'long-term-key', tokenIssuedAtMs: NOW - 3_600_000 },
    { 'aws:tokenissuetime': undefined },
  ],
  [
    'extra keys cannot spoof aws:TokenIssueTime',
    { credential: 'long-term-key', extraKeys: { 'aws:TokenIssueTime': '2030-01-01T00:00:00Z' } },
    { 'aws:tokenissuetime': undefined },
  ],
];

describe('buildRequestContext', () => {
  it.each(ROWS)('%s', (_name, input, expected) => {
    const context = buildRequestContext({ ...base, ...input });
    for (const [key, value] of Object.entries(expected)) expect(context.keys.get(key), key).toEqual(value);
  });
});

const IP_ROWS: Array<[string, string, boolean]> = [
  ['10.0.0.0/8', '10.255.255.255', true],
  ['10.0.0.0/8', '11.0.0.0', false],
  ['192.0.2.128/25', '192.0.2.127', false],
  ['192.0.2.128/25', '192.0.2.200', true],
  ['2001:db8::/32', '2001:db8:ffff::1', true],
  ['2001:db8::/32', '2001:db9::', false],
  ['::1', '::1', true],
  ['::/0', '2001:db8::1', true],
  ['::/0', '192.0.2.1', false],
  ['::ffff:192.0.2.0/120', '192.0.2.9', true],
  ['1:2:3:4:5:6:7:8/128', '1:2:3:4:5:6:7:8', true],
  ['fe80::/10', 'fe80::1%eth0', true],
  ['64:ff9b::/96', '64:ff9b::192.0.2.33', true],
];

describe('IP addresses and CIDR blocks', () => {
  it.each(IP_ROWS)('%s contains %s: %s', (block, ip, expected) => {
    const b = parseCIDR(block);
    const a = parseIP(ip);
    expect(b && a && cidrContains(b, a)).toBe(expected);
  });

  it.each([
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    'g::1',
    '',
    '1.2.3.4/',
    '::ffff:1.2.3.4/95',
  ])('refuses %j', (text) => {
    expect(parseCIDR(text)).toBeUndefined();
  });
});
