import {
  AWS_SELF_MANAGE_MFA,
  AWS_MANAGE_OWN_MFA_PAGE,
  AWS_OLD_NO_DENY,
  AWS_FLAWED_NOV_2018,
} from '../../../test/fixtures/aws-sample-policies.js';
import { describe, expect, it } from 'vitest';
import type { Role } from '../principals/types.js';
import { builtinPoliciesFor, BUILTIN_POLICY_DOCUMENTS, OWNER_ONLY_ACTIONS } from './builtin-roles.js';
import { buildRequestContext, type ContextValue, type RequestContext } from './context.js';
import { evaluate, type Decision } from './evaluate.js';
import { parsePolicy, type CompiledPolicy } from './parse-policy.js';

// ---------------------------------------------------------------------------------------------
// Fixtures: one account, the user alice, a frozen clock.
// ---------------------------------------------------------------------------------------------

const ACCT = '111122223333';
const OTHER = '999988887777';
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0); // 2026-11-23T12:00:00Z
const userArn = (name: string, account = ACCT) => `arn:aws:iam::${account}:user/${name}`;
const mfaArn = (name: string, account = ACCT) => `arn:aws:iam::${account}:mfa/${name}`;

/** How the request was signed: long-term access key, session without MFA, session with MFA. */
type Cred = 'key' | 'nomfa' | 'mfa';

interface Ctx {
  action?: string;
  resource?: string;
  cred?: Cred;
  /** Seconds since the MFA check (session with MFA only). */
  age?: number;
  assurance?: 'recovery_code' | 'software_otp' | 'hardware_otp';
  kind?: string;
  phishing?: boolean;
  ip?: string;
  /** null: an assumed-role session, no aws:username. */
  username?: string | null;
  account?: string;
  keys?: Record<string, ContextValue>;
  nowMs?: number;
}

function ctx(c: Ctx = {}): RequestContext {
  const username = c.username === undefined ? 'alice' : c.username;
  const account = c.account ?? ACCT;
  const cred = c.cred ?? 'mfa';
  return buildRequestContext({
    principal: {
      accountId: account,
      username: username ?? undefined,
      userid: username === null ? 'AROAROLE:session' : 'AIDAALICE0000000000',
      arn:
        username === null ? `arn:aws:sts::${account}:assumed-role/Ops/session` : userArn(username, account),
    },
    action: c.action ?? 'iam:GetUser',
    resource: c.resource ?? userArn('alice'),
    nowMs: c.nowMs ?? NOW,
    credential: cred === 'key' ? 'long-term-key' : 'session',
    mfa:
      cred === 'mfa'
        ? {
            authenticatedAtMs: (c.nowMs ?? NOW) - (c.age ?? 60) * 1000,
            assurance: c.assurance ?? 'software_otp',
            factorKind: c.kind ?? 'totp',
            phishingResistant: c.phishing ?? false,
          }
        : null,
    sourceIp: c.ip ?? '203.0.113.10',
    extraKeys: c.keys,
  });
}

type Statement = Record<string, unknown>;
type Doc = Statement | Statement[] | string;

function compile(doc: Doc): CompiledPolicy {
  if (typeof doc === 'string') return parsePolicy(doc);
  if (!Array.isArray(doc) && 'Statement' in doc) return parsePolicy(JSON.stringify(doc));
  return parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: doc }));
}

const allow = (
  Action: string | string[],
  Resource: string | string[] = '*',
  Condition?: unknown,
): Statement => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...(Condition === undefined ? {} : { Condition }),
});
const deny = (
  Action: string | string[],
  Resource: string | string[] = '*',
  Condition?: unknown,
): Statement => ({
  ...allow(Action, Resource, Condition),
  Effect: 'Deny',
});
/** Allow iam:GetUser on * under one condition block. */
const when = (Condition: unknown): Statement[] => [allow('iam:GetUser', '*', Condition)];

interface Case {
  name: string;
  identity: Doc[];
  account?: Doc[];
  ctx?: Ctx;
  expect: Decision;
}

// ---------------------------------------------------------------------------------------------
// AWS sample policies, verbatim from shared/reference/aws-iam-sts.md §5.4–5.6.
// ---------------------------------------------------------------------------------------------

const CREDS: Cred[] = ['key', 'nomfa', 'mfa'];

/** §5.3: the Bool vs BoolIfExists table, one row per (statement, credential). */
const MFA_TABLE: Array<[string, Statement[], Record<Cred, Decision>]> = [
  [
    'Deny + Bool {MultiFactorAuthPresent: false} (not recommended: keys slip through)',
    [allow('*'), deny('*', '*', { Bool: { 'aws:MultiFactorAuthPresent': 'false' } })],
    { key: 'Allow', nomfa: 'ExplicitDeny', mfa: 'Allow' },
  ],
  [
    'Deny + BoolIfExists {MultiFactorAuthPresent: false} (recommended)',
    [allow('*'), deny('*', '*', { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } })],
    { key: 'ExplicitDeny', nomfa: 'ExplicitDeny', mfa: 'Allow' },
  ],
  [
    'Allow + Bool {MultiFactorAuthPresent: true} (strict)',
    [allow('*', '*', { Bool: { 'aws:MultiFactorAuthPresent': 'true' } })],
    { key: 'ImplicitDeny', nomfa: 'ImplicitDeny', mfa: 'Allow' },
  ],
  [
    'Allow + BoolIfExists {MultiFactorAuthPresent: true} (console-only MFA)',
    [allow('*', '*', { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'true' } })],
    { key: 'Allow', nomfa: 'ImplicitDeny', mfa: 'Allow' },
  ],
  [
    'Allow + Null {MultiFactorAuthPresent: false} (does not test MFA)',
    [allow('*', '*', { Null: { 'aws:MultiFactorAuthPresent': 'false' } })],
    { key: 'ImplicitDeny', nomfa: 'Allow', mfa: 'Allow' },
  ],
  [
    'Allow + Bool with JSON true',
    [allow('*', '*', { Bool: { 'aws:MultiFactorAuthPresent': true } })],
    { key: 'ImplicitDeny', nomfa: 'ImplicitDeny', mfa: 'Allow' },
  ],
  [
    'Allow + Bool "True" (value compared case-insensitively)',
    [allow('*', '*', { Bool: { 'aws:MultiFactorAuthPresent': 'True' } })],
    { key: 'ImplicitDeny', nomfa: 'ImplicitDeny', mfa: 'Allow' },
  ],
  [
    'Allow + NumericLessThan MultiFactorAuthAge 3600 (absent for keys and non-MFA sessions)',
    [allow('*', '*', { NumericLessThan: { 'aws:MultiFactorAuthAge': '3600' } })],
    { key: 'ImplicitDeny', nomfa: 'ImplicitDeny', mfa: 'Allow' },
  ],
  [
    'Deny + NumericGreaterThan MultiFactorAuthAge 3600 (absent key slips through)',
    [allow('*'), deny('*', '*', { NumericGreaterThan: { 'aws:MultiFactorAuthAge': '3600' } })],
    { key: 'Allow', nomfa: 'Allow', mfa: 'Allow' },
  ],
  [
    'Deny + NumericGreaterThanIfExists MultiFactorAuthAge 3600 (§5.2 advice)',
    [allow('*'), deny('*', '*', { NumericGreaterThanIfExists: { 'aws:MultiFactorAuthAge': '3600' } })],
    { key: 'ExplicitDeny', nomfa: 'ExplicitDeny', mfa: 'Allow' },
  ],
];

const mfaTableCases: Case[] = MFA_TABLE.flatMap(([name, statements, outcome]) =>
  CREDS.map((cred) => ({
    name: `${name} / ${cred}`,
    identity: [statements],
    ctx: { cred },
    expect: outcome[cred],
  })),
);

// ---------------------------------------------------------------------------------------------
// The table.
// ---------------------------------------------------------------------------------------------

const CASES: Case[] = [
  // --- Basics: actions, resources, wildcards ---
  { name: 'no policies: implicit deny', identity: [], expect: 'ImplicitDeny' },
  {
    name: 'exact action and resource',
    identity: [[allow('iam:GetUser', userArn('alice'))]],
    expect: 'Allow',
  },
  {
    name: 'action matches case-insensitively',
    identity: [[allow('IAM:getuser', userArn('alice'))]],
    expect: 'Allow',
  },
  {
    name: 'request action in odd case still matches',
    identity: [[allow('iam:GetUser')]],
    ctx: { action: 'IAM:GETUSER' },
    expect: 'Allow',
  },
  { name: 'other action: implicit deny', identity: [[allow('iam:ListUsers')]], expect: 'ImplicitDeny' },
  { name: 'service wildcard iam:*', identity: [[allow('iam:*')]], expect: 'Allow' },
  {
    name: 'iam:* does not cover holdfast:',
    identity: [[allow('iam:*')]],
    ctx: { action: 'holdfast:GetAccount' },
    expect: 'ImplicitDeny',
  },
  { name: 'action prefix wildcard iam:Get*', identity: [[allow('iam:Get*')]], expect: 'Allow' },
  {
    name: 'action prefix wildcard iam:List* misses GetUser',
    identity: [[allow('iam:List*')]],
    expect: 'ImplicitDeny',
  },
  {
    name: 'action infix wildcard iam:*MFA*',
    identity: [[allow('iam:*MFA*')]],
    ctx: { action: 'iam:EnableMFADevice' },
    expect: 'Allow',
  },
  { name: 'action ? wildcard', identity: [[allow('iam:?etUser')]], expect: 'Allow' },
  {
    name: 'action ? needs exactly one character',
    identity: [[allow('iam:?GetUser')]],
    expect: 'ImplicitDeny',
  },
  { name: 'bare * action', identity: [[allow('*')]], ctx: { action: 'holdfast:Anything' }, expect: 'Allow' },
  {
    name: 'action list: any entry matches',
    identity: [[allow(['iam:ListUsers', 'iam:GetUser'])]],
    expect: 'Allow',
  },
  {
    name: 'resource exact mismatch',
    identity: [[allow('iam:GetUser', userArn('bob'))]],
    expect: 'ImplicitDeny',
  },
  {
    name: 'resource is case-sensitive',
    identity: [[allow('iam:GetUser', userArn('Alice'))]],
    expect: 'ImplicitDeny',
  },
  {
    name: 'resource wildcard user/*',
    identity: [[allow('iam:GetUser', `arn:aws:iam::${ACCT}:user/*`)]],
    expect: 'Allow',
  },
  {
    name: 'resource wildcard user/* misses mfa/',
    identity: [[allow('iam:GetUser', `arn:aws:iam::${ACCT}:user/*`)]],
    ctx: { resource: mfaArn('alice') },
    expect: 'ImplicitDeny',
  },
  {
    name: 'resource wildcard in account',
    identity: [[allow('iam:GetUser', 'arn:aws:iam::*:user/alice')]],
    expect: 'Allow',
  },
  {
    name: 'resource ? wildcard',
    identity: [[allow('iam:GetUser', `arn:aws:iam::${ACCT}:user/al?ce`)]],
    expect: 'Allow',
  },
  {
    name: 'resource of another account',
    identity: [[allow('iam:GetUser', `arn:aws:iam::${OTHER}:user/*`)]],
    expect: 'ImplicitDeny',
  },
  {
    name: 'resource list: any entry matches',
    identity: [[allow('iam:GetUser', [userArn('bob'), userArn('alice')])]],
    expect: 'Allow',
  },
  {
    name: 'account-wide resource wildcard',
    identity: [[allow('iam:GetUser', `arn:aws:iam::${ACCT}:*`)]],
    expect: 'Allow',
  },
  {
    name: 'an all-wildcard ARN matches any ARN',
    identity: [[allow('iam:GetUser', 'arn:*:*:*:*:*')]],
    expect: 'Allow',
  },
  {
    name: 'Statement given as a single object',
    identity: [JSON.stringify({ Version: '2012-10-17', Statement: allow('iam:GetUser') })],
    expect: 'Allow',
  },
  {
    name: 'allow spread over two policies still allows',
    identity: [[allow('iam:ListUsers')], [allow('iam:GetUser')]],
    expect: 'Allow',
  },

  // --- Deny beats allow ---
  { name: 'deny alone: explicit deny', identity: [[deny('iam:GetUser')]], expect: 'ExplicitDeny' },
  {
    name: 'deny beats allow in one policy',
    identity: [[allow('*'), deny('iam:GetUser')]],
    expect: 'ExplicitDeny',
  },
  {
    name: 'deny beats allow across policies',
    identity: [[allow('iam:*')], [deny('iam:Get*')]],
    expect: 'ExplicitDeny',
  },
  {
    name: 'deny on another resource does not apply',
    identity: [[allow('*'), deny('*', userArn('bob'))]],
    expect: 'Allow',
  },
  {
    name: 'deny of another action does not apply',
    identity: [[allow('*'), deny('iam:DeleteUser')]],
    expect: 'Allow',
  },
  {
    name: 'deny whose condition fails does not apply',
    identity: [[allow('*'), deny('*', '*', { StringEquals: { 'aws:username': 'bob' } })]],
    expect: 'Allow',
  },
  {
    name: 'deny in an account policy beats identity allow',
    identity: [[allow('*')]],
    account: [[allow('*'), deny('iam:GetUser')]],
    expect: 'ExplicitDeny',
  },

  // --- NotAction / NotResource ---
  {
    name: 'Allow NotAction iam:*: allows other services',
    identity: [[{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }]],
    ctx: { action: 'holdfast:GetAccount' },
    expect: 'Allow',
  },
  {
    name: 'Allow NotAction iam:*: not iam actions',
    identity: [[{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }]],
    expect: 'ImplicitDeny',
  },
  {
    name: 'Allow NotAction is case-insensitive',
    identity: [[{ Effect: 'Allow', NotAction: 'IAM:GETUSER', Resource: '*' }]],
    expect: 'ImplicitDeny',
  },
  {
    name: 'Deny NotAction: an excepted action is not denied, but still needs an allow',
    identity: [[{ Effect: 'Deny', NotAction: 'iam:GetUser', Resource: '*' }]],
    expect: 'ImplicitDeny',
  },
  {
    name: 'Deny NotAction: excepted action allowed elsewhere',
    identity: [[allow('*'), { Effect: 'Deny', NotAction: 'iam:GetUser', Resource: '*' }]],
    expect: 'Allow',
  },
  {
    name: 'Deny NotAction: any other action denied',
    identity: [[allow('*'), { Effect: 'Deny', NotAction: 'iam:GetUser', Resource: '*' }]],
    ctx: { action: 'iam:DeleteUser' },
    expect: 'ExplicitDeny',
  },
  {
    name: 'Allow NotResource: other resources allowed',
    identity: [[{ Effect: 'Allow', Action: 'iam:GetUser', NotResource: userArn('bob') }]],
    expect: 'Allow',
  },
  {
    name: 'Allow NotResource: the excluded resource is not',
    identity: [[{ Effect: 'Allow', Action: 'iam:GetUser', NotResource: userArn('alice') }]],
    expect: 'ImplicitDeny',
  },
  {
    name: 'Deny NotResource: everything outside own user denied',
    identity: [
      [allow('*'), { Effect: 'Deny', Action: '*', NotResource: 'arn:aws:iam::*:user/${aws:username}' }],
    ],
    ctx: { resource: userArn('bob') },
    expect: 'ExplicitDeny',
  },
  {
    name: 'Deny NotResource: own user not denied',
    identity: [
      [allow('*'), { Effect: 'Deny', Action: '*', NotResource: 'arn:aws:iam::*:user/${aws:username}' }],
    ],
    expect: 'Allow',
  },
  {
    name: 'NotAction + NotResource together',
    identity: [[{ Effect: 'Allow', NotAction: 'iam:Delete*', NotResource: userArn('root') }]],
    expect: 'Allow',
  },
  {
    name: 'NotAction wildcard list excludes by pattern',
    identity: [[{ Effect: 'Allow', NotAction: ['iam:Create*', 'iam:Delete*'], Resource: '*' }]],
    ctx: { action: 'iam:DeleteUser' },
    expect: 'ImplicitDeny',
  },

  // --- Policy variables ---
  {
    name: '${aws:username} resource: own user',
    identity: [[allow('iam:GetUser', 'arn:aws:iam::*:user/${aws:username}')]],
    expect: 'Allow',
  },
  {
    name: '${aws:username} resource: other user',
    identity: [[allow('iam:GetUser', 'arn:aws:iam::*:user/${aws:username}')]],
    ctx: { resource: userArn('bob') },
    expect: 'ImplicitDeny',
  },
  {
    name: '${aws:username} never resolves for an assumed-role session',
    identity: [[allow('iam:GetUser', 'arn:aws:iam::*:user/${aws:username}')]],
    ctx: { username: null },
    expect: 'ImplicitDeny',
  },
  {
    name: 'variable names are case-insensitive',
    identity: [[allow('iam:GetUser', 'arn:aws:iam::*:user/${AWS:UserName}')]],
    expect: 'Allow',
  },
  {
    name: '${aws:PrincipalAccount} scopes to the own account',
    identity: [[allow('iam:GetUser', 'arn:aws:iam::${aws:PrincipalAccount}:user/*')]],
    expect: 'Allow',
  },
  {
    name: '${aws:PrincipalAccount} refuses another account',
    identity: [[allow('iam:GetUser', 'arn:aws:iam::${aws:PrincipalAccount}:user/*')]],
    ctx: { resource: userArn('alice', OTHER) },
    expect: 'ImplicitDeny',
  },
  {
    name: '${aws:userid} in a condition value',
    identity: [when({ StringEquals: { 'holdfast:OwnerId': '${aws:userid}' } })],
    ctx: { keys: { 'holdfast:OwnerId': 'AIDAALICE0000000000' } },
    expect: 'Allow',
  },
  {
    name: '${aws:PrincipalArn} in StringEquals',
    identity: [when({ StringEquals: { 'holdfast:CreatedBy': '${aws:PrincipalArn}' } })],
    ctx: { keys: { 'holdfast:CreatedBy': userArn('alice') } },
    expect: 'Allow',
  },
  {
    name: '${aws:PrincipalArn} in StringEquals: someone else',
    identity: [when({ StringEquals: { 'holdfast:CreatedBy': '${aws:PrincipalArn}' } })],
    ctx: { keys: { 'holdfast:CreatedBy': userArn('bob') } },
    expect: 'ImplicitDeny',
  },
  {
    name: 'variable in StringLike',
    identity: [when({ StringLike: { 'holdfast:DeviceName': '${aws:username}-*' } })],
    ctx: { keys: { 'holdfast:DeviceName': 'alice-phone' } },
    expect: 'Allow',
  },
  {
    name: '${*} is a literal star, not a wildcard',
    identity: [[allow('iam:GetUser', `arn:aws:iam::${ACCT}:user/\${*}`)]],
    expect: 'ImplicitDeny',
  },
  {
    name: '${*} matches a literal star',
    identity: [[allow('iam:GetUser', `arn:aws:iam::${ACCT}:user/\${*}`)]],
    ctx: { resource: `arn:aws:iam::${ACCT}:user/*` },
    expect: 'Allow',
  },
  {
    name: '${?} matches a literal question mark',
    identity: [when({ StringEquals: { 'holdfast:Q': 'why${?}' } })],
    ctx: { keys: { 'holdfast:Q': 'why?' } },
    expect: 'Allow',
  },
  {
    name: '${$} matches a literal dollar',
    identity: [when({ StringLike: { 'holdfast:Price': '${$}*' } })],
    ctx: { keys: { 'holdfast:Price': '$5' } },
    expect: 'Allow',
  },
  {
    name: "a variable's default applies when the key is absent",
    identity: [[allow('iam:GetUser', "arn:aws:iam::*:user/${aws:username, 'alice'}")]],
    ctx: { username: null },
    expect: 'Allow',
  },
  {
    name: 'a variable value is literal text (a * in it is no wildcard)',
    identity: [[allow('iam:GetUser', 'arn:aws:iam::*:user/${aws:username}')]],
    ctx: { username: 'a*', resource: userArn('alice') },
    expect: 'ImplicitDeny',
  },
  {
    name: 'Version 2008-10-17 treats ${...} as plain text',
    identity: [
      JSON.stringify({
        Version: '2008-10-17',
        Statement: allow('iam:GetUser', 'arn:aws:iam::*:user/${aws:username}'),
      }),
    ],
    expect: 'ImplicitDeny',
  },
  {
    name: 'no Version (2008-10-17) treats ${...} as plain text',
    identity: [JSON.stringify({ Statement: allow('iam:GetUser', 'arn:aws:iam::*:user/${aws:username}') })],
    ctx: { resource: 'arn:aws:iam::1:user/${aws:username}' },
    expect: 'Allow',
  },
  {
    name: 'unresolved variable in StringEquals: no match',
    identity: [when({ StringEquals: { 'holdfast:Owner': '${aws:username}' } })],
    ctx: { username: null, keys: { 'holdfast:Owner': 'alice' } },
    expect: 'ImplicitDeny',
  },
  {
    name: 'unresolved variable in StringNotEquals: the value matches nothing, so true',
    identity: [when({ StringNotEquals: { 'holdfast:Owner': '${aws:username}' } })],
    ctx: { username: null, keys: { 'holdfast:Owner': 'alice' } },
    expect: 'Allow',
  },
  {
    name: 'unresolved variable in NotResource: the element does not match, so the statement applies',
    identity: [
      [{ Effect: 'Allow', Action: 'iam:GetUser', NotResource: 'arn:aws:iam::*:user/${aws:username}' }],
    ],
    ctx: { username: null },
    expect: 'Allow',
  },

  // --- AWS sample §5.4: self-manage an MFA device (current) ---
  {
    name: '§5.4 list users without MFA (bootstrap)',
    identity: [AWS_SELF_MANAGE_MFA],
    ctx: { cred: 'key', action: 'iam:ListUsers', resource: '*' },
    expect: 'Allow',
  },
  {
    name: '§5.4 create virtual device with keys only',
    identity: [AWS_SELF_MANAGE_MFA],
    ctx: { cred: 'key', action: 'iam:CreateVirtualMFADevice', resource: mfaArn('alice-phone') },
    expect: 'Allow',
  },
  {
    name: '§5.4 enable own device with keys only',
    identity: [AWS_SELF_MANAGE_MFA],
    ctx: { cred: 'key', action: 'iam:EnableMFADevice' },
    expect: 'Allow',
  },
  {
    name: "§5.4 enable on someone else's user",
    identity: [AWS_SELF_MANAGE_MFA],
    ctx: { cred: 'mfa', action: 'iam:EnableMFADevice', resource: userArn('bob') },
    expect: 'ImplicitDeny',
  },
  {
    name: '§5.4 deactivate own device with keys only: denied',
    identity: [AWS_SELF_MANAGE_MFA],
    ctx: { cred: 'key', action: 'iam:DeactivateMFADevice' },
    expect: 'ExplicitDeny',
  },
  {
    name: '§5.4 deactivate own device in a session without MFA: denied',
    identity: [AWS_SELF_MANAGE_MFA],
    ctx: { cred: 'nomfa', action: 'iam:DeactivateMFADevice' },
    expect: 'ExplicitDeny',
  },
  {
    name: '§5.4 deactivate own device with MFA',
    identity: [AWS_SELF_MANAGE_MFA],
    ctx: { cred: 'mfa', action: 'iam:DeactivateMFADevice' },
    expect: 'Allow',
  },
  {
    name: "§5.4 deactivate bob's device with MFA",
    identity: [AWS_SELF_MANAGE_MFA],
    ctx: { cred: 'mfa', action: 'iam:DeactivateMFADevice', resource: userArn('bob') },
    expect: 'ImplicitDeny',
  },
  {
    name: '§5.4 GetMFADevice is not exempt: keys only denied',
    identity: [AWS_SELF_MANAGE_MFA],
    ctx: { cred: 'key', action: 'iam:GetMFADevice' },
    expect: 'ExplicitDeny',
  },
  {
    name: '§5.4 DeleteVirtualMFADevice is not exempt',
    identity: [AWS_SELF_MANAGE_MFA],
    ctx: { cred: 'key', action: 'iam:DeleteVirtualMFADevice', resource: mfaArn('alice') },
    expect: 'ExplicitDeny',
  },
  {
    name: '§5.4 anything else with keys only: denied',
    identity: [AWS_SELF_MANAGE_MFA, [allow('*')]],
    ctx: { cred: 'key', action: 'iam:CreateUser' },
    expect: 'ExplicitDeny',
  },
  {
    name: '§5.4 anything else with MFA: allowed by the other policy',
    identity: [AWS_SELF_MANAGE_MFA, [allow('*')]],
    ctx: { cred: 'mfa', action: 'iam:CreateUser' },
    expect: 'Allow',
  },
  {
    name: '§5.4 role session: no aws:username, no own-user actions',
    identity: [AWS_SELF_MANAGE_MFA],
    ctx: { cred: 'mfa', username: null, action: 'iam:EnableMFADevice' },
    expect: 'ImplicitDeny',
  },
  {
    name: '§5.6(d) flaw kept in §5.4: keys alone may still ADD a device for an enrolled user (guardrail G3 closes this)',
    identity: [AWS_SELF_MANAGE_MFA],
    ctx: { cred: 'key', action: 'iam:CreateVirtualMFADevice', resource: mfaArn('attacker-device') },
    expect: 'Allow',
  },

  // --- AWS sample §5.5 ---
  {
    name: '§5.5 GetUser with keys only (exempt)',
    identity: [AWS_MANAGE_OWN_MFA_PAGE],
    ctx: { cred: 'key' },
    expect: 'Allow',
  },
  {
    name: '§5.5 deactivate with keys only: unconditioned allow but denied by NotAction deny',
    identity: [AWS_MANAGE_OWN_MFA_PAGE],
    ctx: { cred: 'key', action: 'iam:DeactivateMFADevice' },
    expect: 'ExplicitDeny',
  },
  {
    name: '§5.5 deactivate with MFA',
    identity: [AWS_MANAGE_OWN_MFA_PAGE],
    ctx: { cred: 'mfa', action: 'iam:DeactivateMFADevice' },
    expect: 'Allow',
  },
  {
    name: '§5.5 sts:GetSessionToken is exempt from the deny (no allow here)',
    identity: [AWS_MANAGE_OWN_MFA_PAGE],
    ctx: { cred: 'key', action: 'sts:GetSessionToken', resource: '*' },
    expect: 'ImplicitDeny',
  },
  {
    name: '§5.5 ListVirtualMFADevices with keys only',
    identity: [AWS_MANAGE_OWN_MFA_PAGE],
    ctx: { cred: 'key', action: 'iam:ListVirtualMFADevices', resource: '*' },
    expect: 'Allow',
  },

  // --- AWS sample §5.6(a): old, no deny ---
  {
    name: '§5.6(a) deactivate with keys only: Bool on absent key is false',
    identity: [AWS_OLD_NO_DENY],
    ctx: { cred: 'key', action: 'iam:DeactivateMFADevice' },
    expect: 'ImplicitDeny',
  },
  {
    name: '§5.6(a) deactivate with MFA',
    identity: [AWS_OLD_NO_DENY],
    ctx: { cred: 'mfa', action: 'iam:DeactivateMFADevice', resource: mfaArn('alice') },
    expect: 'Allow',
  },
  {
    name: '§5.6(a) device must be named after the user',
    identity: [AWS_OLD_NO_DENY],
    ctx: { cred: 'key', action: 'iam:CreateVirtualMFADevice', resource: mfaArn('alice2') },
    expect: 'ImplicitDeny',
  },
  {
    name: '§5.6(a) race: anyone with the keys creates mfa/alice first',
    identity: [AWS_OLD_NO_DENY],
    ctx: { cred: 'key', action: 'iam:CreateVirtualMFADevice', resource: mfaArn('alice') },
    expect: 'Allow',
  },
  {
    name: '§5.6(a) DeleteVirtualMFADevice without MFA',
    identity: [AWS_OLD_NO_DENY],
    ctx: { cred: 'key', action: 'iam:DeleteVirtualMFADevice', resource: mfaArn('alice') },
    expect: 'Allow',
  },

  // --- AWS sample §5.6(b): the flawed Nov 2018 revision (MISSION.md failure 4) ---
  {
    name: 'failure 4: stolen long-term keys deactivate the victim device under the flawed policy',
    identity: [AWS_FLAWED_NOV_2018],
    ctx: { cred: 'key', action: 'iam:DeactivateMFADevice' },
    expect: 'Allow',
  },
  {
    name: 'failure 4: ...then enable an attacker device',
    identity: [AWS_FLAWED_NOV_2018],
    ctx: { cred: 'key', action: 'iam:EnableMFADevice' },
    expect: 'Allow',
  },
  {
    name: 'failure 4: same in a password session without MFA',
    identity: [AWS_FLAWED_NOV_2018],
    ctx: { cred: 'nomfa', action: 'iam:DeactivateMFADevice', resource: mfaArn('alice') },
    expect: 'Allow',
  },
  {
    name: 'failure 4: access-key management is blocked without MFA',
    identity: [AWS_FLAWED_NOV_2018],
    ctx: { cred: 'key', action: 'iam:CreateAccessKey' },
    expect: 'ExplicitDeny',
  },
  {
    name: 'failure 4: identity administration is simply not covered (another policy grants it)',
    identity: [AWS_FLAWED_NOV_2018, [allow('iam:*User*')]],
    ctx: { cred: 'mfa', action: 'iam:CreateUser', resource: userArn('eve') },
    expect: 'Allow',
  },
  {
    name: 'failure 4 fixed: a BoolIfExists deny without the Deactivate exemption stops the attacker',
    identity: [
      AWS_FLAWED_NOV_2018,
      [deny('iam:DeactivateMFADevice', '*', { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } })],
    ],
    ctx: { cred: 'key', action: 'iam:DeactivateMFADevice' },
    expect: 'ExplicitDeny',
  },
  {
    name: 'failure 4 fixed with a Bool deny instead: keys still slip through',
    identity: [
      AWS_FLAWED_NOV_2018,
      [deny('iam:DeactivateMFADevice', '*', { Bool: { 'aws:MultiFactorAuthPresent': 'false' } })],
    ],
    ctx: { cred: 'key', action: 'iam:DeactivateMFADevice' },
    expect: 'Allow',
  },

  // --- MFA age and Holdfast's assurance keys ---
  {
    name: 'MFA age 3599 < 3600',
    identity: [when({ NumericLessThan: { 'aws:MultiFactorAuthAge': 3600 } })],
    ctx: { age: 3599 },
    expect: 'Allow',
  },
  {
    name: 'MFA age 3600 is not < 3600',
    identity: [when({ NumericLessThan: { 'aws:MultiFactorAuthAge': 3600 } })],
    ctx: { age: 3600 },
    expect: 'ImplicitDeny',
  },
  {
    name: 'MFA age 3600 <= 3600',
    identity: [when({ NumericLessThanEquals: { 'aws:MultiFactorAuthAge': '3600' } })],
    ctx: { age: 3600 },
    expect: 'Allow',
  },
  {
    name: 'step-up window: 15 minutes, age 901 denied',
    identity: [
      [
        allow('*'),
        deny('iam:DeactivateMFADevice', '*', {
          NumericGreaterThanIfExists: { 'aws:MultiFactorAuthAge': 900 },
        }),
      ],
    ],
    ctx: { action: 'iam:DeactivateMFADevice', age: 901 },
    expect: 'ExplicitDeny',
  },
  {
    name: 'step-up window: age 900 allowed',
    identity: [
      [
        allow('*'),
        deny('iam:DeactivateMFADevice', '*', {
          NumericGreaterThanIfExists: { 'aws:MultiFactorAuthAge': 900 },
        }),
      ],
    ],
    ctx: { action: 'iam:DeactivateMFADevice', age: 900 },
    expect: 'Allow',
  },
  {
    name: 'minimum assurance: hardware_otp (30) >= 30',
    identity: [when({ NumericGreaterThanEquals: { 'holdfast:MfaAssuranceLevel': 30 } })],
    ctx: { assurance: 'hardware_otp' },
    expect: 'Allow',
  },
  {
    name: 'minimum assurance: software_otp (20) < 30',
    identity: [when({ NumericGreaterThanEquals: { 'holdfast:MfaAssuranceLevel': 30 } })],
    ctx: { assurance: 'software_otp' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'minimum assurance: key absent for long-term keys',
    identity: [when({ NumericGreaterThanEquals: { 'holdfast:MfaAssuranceLevel': 10 } })],
    ctx: { cred: 'key' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'deny below an assurance, IfExists so keys are denied too',
    identity: [
      [allow('*'), deny('*', '*', { NumericLessThanIfExists: { 'holdfast:MfaAssuranceLevel': 20 } })],
    ],
    ctx: { cred: 'key' },
    expect: 'ExplicitDeny',
  },
  {
    name: 'deny below an assurance: recovery code session denied',
    identity: [
      [allow('*'), deny('*', '*', { NumericLessThanIfExists: { 'holdfast:MfaAssuranceLevel': 20 } })],
    ],
    ctx: { assurance: 'recovery_code' },
    expect: 'ExplicitDeny',
  },
  {
    name: 'assurance by name with StringEquals',
    identity: [when({ StringEquals: { 'holdfast:MfaAssurance': ['hardware_otp'] } })],
    ctx: { assurance: 'hardware_otp' },
    expect: 'Allow',
  },
  {
    name: 'factor kind with StringEquals',
    identity: [when({ StringEquals: { 'holdfast:MfaFactorKind': 'hardware_token' } })],
    ctx: { kind: 'totp' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'phishing-resistant required: yes',
    identity: [when({ Bool: { 'holdfast:PhishingResistant': 'true' } })],
    ctx: { phishing: true },
    expect: 'Allow',
  },
  {
    name: 'phishing-resistant required: TOTP is not',
    identity: [when({ Bool: { 'holdfast:PhishingResistant': 'true' } })],
    ctx: { phishing: false },
    expect: 'ImplicitDeny',
  },
  {
    name: 'phishing-resistant required: session without MFA',
    identity: [when({ Bool: { 'holdfast:PhishingResistant': 'true' } })],
    ctx: { cred: 'nomfa' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'long-term keys never carry MFA facts',
    identity: [when({ Null: { 'aws:MultiFactorAuthAge': 'true', 'aws:MultiFactorAuthPresent': 'true' } })],
    ctx: { cred: 'key' },
    expect: 'Allow',
  },

  // --- String operators ---
  {
    name: 'StringEquals match',
    identity: [when({ StringEquals: { 'aws:username': 'alice' } })],
    expect: 'Allow',
  },
  {
    name: 'StringEquals is case-sensitive',
    identity: [when({ StringEquals: { 'aws:username': 'Alice' } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'StringEquals: values OR',
    identity: [when({ StringEquals: { 'aws:username': ['bob', 'alice'] } })],
    expect: 'Allow',
  },
  {
    name: 'StringEquals: key names are case-insensitive',
    identity: [when({ StringEquals: { 'AWS:USERNAME': 'alice' } })],
    expect: 'Allow',
  },
  {
    name: 'StringEquals: absent key is false',
    identity: [when({ StringEquals: { 'holdfast:Missing': 'x' } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'StringNotEquals: other value',
    identity: [when({ StringNotEquals: { 'aws:username': 'bob' } })],
    expect: 'Allow',
  },
  {
    name: 'StringNotEquals: same value',
    identity: [when({ StringNotEquals: { 'aws:username': 'alice' } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'StringNotEquals: must match none of the values',
    identity: [when({ StringNotEquals: { 'aws:username': ['bob', 'alice'] } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'StringNotEquals: absent key is TRUE (AWS negated-operator rule)',
    identity: [when({ StringNotEquals: { 'holdfast:Missing': 'x' } })],
    expect: 'Allow',
  },
  {
    name: 'StringEqualsIgnoreCase',
    identity: [when({ StringEqualsIgnoreCase: { 'aws:username': 'ALICE' } })],
    expect: 'Allow',
  },
  {
    name: 'StringNotEqualsIgnoreCase: same but for case',
    identity: [when({ StringNotEqualsIgnoreCase: { 'aws:username': 'ALICE' } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'StringNotEqualsIgnoreCase: absent key is true',
    identity: [when({ StringNotEqualsIgnoreCase: { 'holdfast:Missing': 'x' } })],
    expect: 'Allow',
  },
  { name: 'StringLike with *', identity: [when({ StringLike: { 'aws:username': 'al*' } })], expect: 'Allow' },
  {
    name: 'StringLike with ?',
    identity: [when({ StringLike: { 'aws:username': 'al?ce' } })],
    expect: 'Allow',
  },
  {
    name: 'StringLike is case-sensitive',
    identity: [when({ StringLike: { 'aws:username': 'AL*' } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'StringLike without wildcard is exact',
    identity: [when({ StringLike: { 'aws:username': 'ali' } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'StringNotLike: not matching',
    identity: [when({ StringNotLike: { 'aws:username': 'b*' } })],
    expect: 'Allow',
  },
  {
    name: 'StringNotLike: matching',
    identity: [when({ StringNotLike: { 'aws:username': 'a*' } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'StringNotLike: absent key is true (quoted AWS example)',
    identity: [when({ StringNotLike: { 'holdfast:Missing': '*' } })],
    expect: 'Allow',
  },
  {
    name: 'StringLikeIfExists: absent key is true',
    identity: [when({ StringLikeIfExists: { 'holdfast:Missing': 'x*' } })],
    expect: 'Allow',
  },
  {
    name: 'StringLikeIfExists: present key compared',
    identity: [when({ StringLikeIfExists: { 'aws:username': 'x*' } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'ArnLike on aws:PrincipalArn',
    identity: [when({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:user/*' } })],
    expect: 'Allow',
  },
  {
    name: 'ArnNotLike: absent key is true',
    identity: [when({ ArnNotLike: { 'holdfast:Missing': 'arn:*' } })],
    expect: 'Allow',
  },
  {
    name: 'a number in the context compares as a string',
    identity: [when({ StringEquals: { 'aws:EpochTime': String(NOW / 1000) } })],
    expect: 'Allow',
  },
  {
    name: 'a number in the policy compares as a string',
    identity: [when({ StringEquals: { 'holdfast:Code': 42 } })],
    ctx: { keys: { 'holdfast:Code': '42' } },
    expect: 'Allow',
  },

  // --- Numeric operators ---
  {
    name: 'NumericEquals',
    identity: [when({ NumericEquals: { 'holdfast:N': 5 } })],
    ctx: { keys: { 'holdfast:N': 5 } },
    expect: 'Allow',
  },
  {
    name: 'NumericEquals with a string context value',
    identity: [when({ NumericEquals: { 'holdfast:N': '5.0' } })],
    ctx: { keys: { 'holdfast:N': '5' } },
    expect: 'Allow',
  },
  {
    name: 'NumericNotEquals',
    identity: [when({ NumericNotEquals: { 'holdfast:N': [1, 2] } })],
    ctx: { keys: { 'holdfast:N': 5 } },
    expect: 'Allow',
  },
  {
    name: 'NumericNotEquals: one of the values equal',
    identity: [when({ NumericNotEquals: { 'holdfast:N': [5, 2] } })],
    ctx: { keys: { 'holdfast:N': 5 } },
    expect: 'ImplicitDeny',
  },
  {
    name: 'NumericNotEquals: absent key is true',
    identity: [when({ NumericNotEquals: { 'holdfast:N': 5 } })],
    expect: 'Allow',
  },
  {
    name: 'NumericGreaterThan',
    identity: [when({ NumericGreaterThan: { 'holdfast:N': 4 } })],
    ctx: { keys: { 'holdfast:N': 5 } },
    expect: 'Allow',
  },
  {
    name: 'NumericGreaterThan equal is not greater',
    identity: [when({ NumericGreaterThan: { 'holdfast:N': 5 } })],
    ctx: { keys: { 'holdfast:N': 5 } },
    expect: 'ImplicitDeny',
  },
  {
    name: 'NumericGreaterThanEquals',
    identity: [when({ NumericGreaterThanEquals: { 'holdfast:N': 5 } })],
    ctx: { keys: { 'holdfast:N': 5 } },
    expect: 'Allow',
  },
  {
    name: 'NumericLessThan with decimals',
    identity: [when({ NumericLessThan: { 'holdfast:N': '5.5' } })],
    ctx: { keys: { 'holdfast:N': 5.25 } },
    expect: 'Allow',
  },
  {
    name: 'NumericLessThan: absent key is false',
    identity: [when({ NumericLessThan: { 'holdfast:N': 5 } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'NumericLessThan: non-numeric context value never matches',
    identity: [when({ NumericLessThan: { 'holdfast:N': 5 } })],
    ctx: { keys: { 'holdfast:N': 'three' } },
    expect: 'ImplicitDeny',
  },
  {
    name: 'NumericLessThanIfExists: absent key is true',
    identity: [when({ NumericLessThanIfExists: { 'holdfast:N': 5 } })],
    expect: 'Allow',
  },
  {
    name: 'Numeric values OR: any threshold',
    identity: [when({ NumericEquals: { 'holdfast:N': [1, 5, 9] } })],
    ctx: { keys: { 'holdfast:N': 9 } },
    expect: 'Allow',
  },

  // --- Date operators ---
  {
    name: 'DateLessThan ISO: before the end',
    identity: [when({ DateLessThan: { 'aws:CurrentTime': '2026-12-31T23:59:59Z' } })],
    expect: 'Allow',
  },
  {
    name: 'DateLessThan ISO: after the end',
    identity: [when({ DateLessThan: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'DateGreaterThan date-only value',
    identity: [when({ DateGreaterThan: { 'aws:CurrentTime': '2026-11-23' } })],
    expect: 'Allow',
  },
  {
    name: 'DateGreaterThan with offset',
    identity: [when({ DateGreaterThan: { 'aws:CurrentTime': '2026-11-23T13:00:00+02:00' } })],
    expect: 'Allow',
  },
  {
    name: 'DateLessThan with offset',
    identity: [when({ DateLessThan: { 'aws:CurrentTime': '2026-11-23T13:00:00+02:00' } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'DateEquals exact second',
    identity: [when({ DateEquals: { 'aws:CurrentTime': '2026-11-23T12:00:00Z' } })],
    expect: 'Allow',
  },
  {
    name: 'DateEquals with milliseconds',
    identity: [when({ DateEquals: { 'aws:CurrentTime': '2026-11-23T12:00:00.000Z' } })],
    expect: 'Allow',
  },
  {
    name: 'DateNotEquals',
    identity: [when({ DateNotEquals: { 'aws:CurrentTime': '2026-11-23T12:00:01Z' } })],
    expect: 'Allow',
  },
  {
    name: 'DateNotEquals: absent key is true',
    identity: [when({ DateNotEquals: { 'holdfast:When': '2026-11-23' } })],
    expect: 'Allow',
  },
  {
    name: 'Date policy value in epoch seconds',
    identity: [when({ DateGreaterThanEquals: { 'aws:CurrentTime': String(NOW / 1000) } })],
    expect: 'Allow',
  },
  {
    name: 'aws:EpochTime (seconds) against an ISO value',
    identity: [when({ DateLessThanEquals: { 'aws:EpochTime': '2026-11-23T12:00:00Z' } })],
    expect: 'Allow',
  },
  {
    name: 'a time window: both bounds AND',
    identity: [
      when({
        DateGreaterThan: { 'aws:CurrentTime': '2026-11-23T08:00:00Z' },
        DateLessThan: { 'aws:CurrentTime': '2026-11-23T18:00:00Z' },
      }),
    ],
    expect: 'Allow',
  },
  {
    name: 'a time window: outside',
    identity: [
      when({
        DateGreaterThan: { 'aws:CurrentTime': '2026-11-23T08:00:00Z' },
        DateLessThan: { 'aws:CurrentTime': '2026-11-23T18:00:00Z' },
      }),
    ],
    ctx: { nowMs: Date.UTC(2026, 10, 23, 19) },
    expect: 'ImplicitDeny',
  },
  {
    name: 'a time without offset is UTC, not local time',
    identity: [when({ DateEquals: { 'aws:CurrentTime': '2026-11-23T12:00:00' } })],
    expect: 'Allow',
  },
  {
    name: 'DateLessThan: absent key is false',
    identity: [when({ DateLessThan: { 'holdfast:When': '2030-01-01' } })],
    expect: 'ImplicitDeny',
  },

  // --- Bool ---
  {
    name: 'Bool on a boolean context value false',
    identity: [when({ Bool: { 'aws:MultiFactorAuthPresent': 'false' } })],
    ctx: { cred: 'nomfa' },
    expect: 'Allow',
  },
  {
    name: 'Bool on a string context value',
    identity: [when({ Bool: { 'holdfast:Flag': 'true' } })],
    ctx: { keys: { 'holdfast:Flag': 'TRUE' } },
    expect: 'Allow',
  },
  {
    name: 'Bool values OR',
    identity: [when({ Bool: { 'aws:MultiFactorAuthPresent': ['true', 'false'] } })],
    ctx: { cred: 'nomfa' },
    expect: 'Allow',
  },
  {
    name: 'BoolIfExists false on a present true',
    identity: [when({ BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } })],
    ctx: { cred: 'mfa' },
    expect: 'ImplicitDeny',
  },

  // --- IP addresses ---
  {
    name: 'IpAddress in an IPv4 CIDR',
    identity: [when({ IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } })],
    expect: 'Allow',
  },
  {
    name: 'IpAddress outside an IPv4 CIDR',
    identity: [when({ IpAddress: { 'aws:SourceIp': '198.51.100.0/24' } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'IpAddress single address (no prefix is /32)',
    identity: [when({ IpAddress: { 'aws:SourceIp': '203.0.113.10' } })],
    expect: 'Allow',
  },
  {
    name: 'IpAddress /0 matches every IPv4',
    identity: [when({ IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } })],
    expect: 'Allow',
  },
  {
    name: 'IpAddress /31 boundary',
    identity: [when({ IpAddress: { 'aws:SourceIp': '203.0.113.10/31' } })],
    ctx: { ip: '203.0.113.11' },
    expect: 'Allow',
  },
  {
    name: 'IpAddress /31 just outside',
    identity: [when({ IpAddress: { 'aws:SourceIp': '203.0.113.10/31' } })],
    ctx: { ip: '203.0.113.12' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'IpAddress list: values OR',
    identity: [when({ IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '203.0.113.0/24'] } })],
    expect: 'Allow',
  },
  {
    name: 'IpAddress IPv6 CIDR',
    identity: [when({ IpAddress: { 'aws:SourceIp': '2001:db8::/32' } })],
    ctx: { ip: '2001:db8:1234::5' },
    expect: 'Allow',
  },
  {
    name: 'IpAddress IPv6 outside',
    identity: [when({ IpAddress: { 'aws:SourceIp': '2001:db8::/32' } })],
    ctx: { ip: '2001:db9::5' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'IPv4 CIDR never matches an IPv6 source',
    identity: [when({ IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } })],
    ctx: { ip: '2001:db8::1' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'IPv4-mapped IPv6 source matches an IPv4 CIDR',
    identity: [when({ IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } })],
    ctx: { ip: '::ffff:203.0.113.7' },
    expect: 'Allow',
  },
  {
    name: 'NotIpAddress outside the range',
    identity: [when({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } })],
    expect: 'Allow',
  },
  {
    name: 'NotIpAddress inside the range',
    identity: [when({ NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '203.0.113.0/24'] } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'NotIpAddress: absent key is true (AWS negated-operator rule)',
    identity: [when({ NotIpAddress: { 'holdfast:OtherIp': '10.0.0.0/8' } })],
    expect: 'Allow',
  },
  {
    name: 'IpAddress: absent key is false',
    identity: [when({ IpAddress: { 'holdfast:OtherIp': '0.0.0.0/0' } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'IpAddress: garbage source never matches',
    identity: [when({ IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } })],
    ctx: { ip: 'not-an-ip' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'deny outside the office network',
    identity: [[allow('*'), deny('*', '*', { NotIpAddress: { 'aws:SourceIp': '192.0.2.0/24' } })]],
    expect: 'ExplicitDeny',
  },
  {
    name: 'deny outside the office network: inside',
    identity: [[allow('*'), deny('*', '*', { NotIpAddress: { 'aws:SourceIp': '192.0.2.0/24' } })]],
    ctx: { ip: '192.0.2.44' },
    expect: 'Allow',
  },

  // --- Null ---
  {
    name: 'Null true: key absent',
    identity: [when({ Null: { 'holdfast:Missing': 'true' } })],
    expect: 'Allow',
  },
  {
    name: 'Null true: key present',
    identity: [when({ Null: { 'aws:username': 'true' } })],
    expect: 'ImplicitDeny',
  },
  { name: 'Null false: key present', identity: [when({ Null: { 'aws:username': false } })], expect: 'Allow' },
  {
    name: 'Null false: key absent',
    identity: [when({ Null: { 'aws:username': 'false' } })],
    ctx: { username: null },
    expect: 'ImplicitDeny',
  },
  {
    name: 'Null: an empty list counts as absent',
    identity: [when({ Null: { 'holdfast:Tags': 'true' } })],
    ctx: { keys: { 'holdfast:Tags': [] } },
    expect: 'Allow',
  },
  {
    name: 'Null + deny: refuse long-term keys entirely',
    identity: [[allow('*'), deny('*', '*', { Null: { 'aws:MultiFactorAuthPresent': 'true' } })]],
    ctx: { cred: 'key' },
    expect: 'ExplicitDeny',
  },

  // --- Multi-valued keys: ForAnyValue / ForAllValues ---
  {
    name: 'ForAnyValue:StringEquals one of the tags',
    identity: [when({ 'ForAnyValue:StringEquals': { 'holdfast:Tags': ['prod', 'ops'] } })],
    ctx: { keys: { 'holdfast:Tags': ['dev', 'ops'] } },
    expect: 'Allow',
  },
  {
    name: 'ForAnyValue:StringEquals none of the tags',
    identity: [when({ 'ForAnyValue:StringEquals': { 'holdfast:Tags': ['prod'] } })],
    ctx: { keys: { 'holdfast:Tags': ['dev', 'ops'] } },
    expect: 'ImplicitDeny',
  },
  {
    name: 'ForAnyValue: absent key is false',
    identity: [when({ 'ForAnyValue:StringEquals': { 'holdfast:Tags': ['prod'] } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'ForAnyValue: empty key is false',
    identity: [when({ 'ForAnyValue:StringEquals': { 'holdfast:Tags': ['prod'] } })],
    ctx: { keys: { 'holdfast:Tags': [] } },
    expect: 'ImplicitDeny',
  },
  {
    name: 'ForAnyValue:StringNotEquals absent key is false too',
    identity: [when({ 'ForAnyValue:StringNotEquals': { 'holdfast:Tags': ['prod'] } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'ForAnyValue:StringNotEquals: one value outside the set',
    identity: [when({ 'ForAnyValue:StringNotEquals': { 'holdfast:Tags': ['prod'] } })],
    ctx: { keys: { 'holdfast:Tags': ['prod', 'dev'] } },
    expect: 'Allow',
  },
  {
    name: 'ForAllValues:StringEquals subset',
    identity: [when({ 'ForAllValues:StringEquals': { 'holdfast:Tags': ['dev', 'ops', 'prod'] } })],
    ctx: { keys: { 'holdfast:Tags': ['dev', 'ops'] } },
    expect: 'Allow',
  },
  {
    name: 'ForAllValues:StringEquals not a subset',
    identity: [when({ 'ForAllValues:StringEquals': { 'holdfast:Tags': ['dev'] } })],
    ctx: { keys: { 'holdfast:Tags': ['dev', 'ops'] } },
    expect: 'ImplicitDeny',
  },
  {
    name: 'ForAllValues: absent key is TRUE (the documented trap)',
    identity: [when({ 'ForAllValues:StringEquals': { 'holdfast:Tags': ['dev'] } })],
    expect: 'Allow',
  },
  {
    name: 'ForAllValues: empty key is true',
    identity: [when({ 'ForAllValues:StringEquals': { 'holdfast:Tags': ['dev'] } })],
    ctx: { keys: { 'holdfast:Tags': [] } },
    expect: 'Allow',
  },
  {
    name: 'ForAllValues + Null false closes the trap',
    identity: [
      when({ 'ForAllValues:StringEquals': { 'holdfast:Tags': ['dev'] }, Null: { 'holdfast:Tags': 'false' } }),
    ],
    expect: 'ImplicitDeny',
  },
  {
    name: 'ForAllValues:StringLike every value matches',
    identity: [when({ 'ForAllValues:StringLike': { 'holdfast:Tags': ['team-*'] } })],
    ctx: { keys: { 'holdfast:Tags': ['team-a', 'team-b'] } },
    expect: 'Allow',
  },
  {
    name: 'ForAllValues:StringNotEquals: no value in the forbidden set',
    identity: [when({ 'ForAllValues:StringNotEquals': { 'holdfast:Tags': ['root'] } })],
    ctx: { keys: { 'holdfast:Tags': ['a', 'b'] } },
    expect: 'Allow',
  },
  {
    name: 'ForAllValues:StringNotEquals: one value in the forbidden set',
    identity: [when({ 'ForAllValues:StringNotEquals': { 'holdfast:Tags': ['root'] } })],
    ctx: { keys: { 'holdfast:Tags': ['a', 'root'] } },
    expect: 'ImplicitDeny',
  },
  {
    name: 'ForAnyValue:StringEqualsIfExists: absent key is true',
    identity: [when({ 'ForAnyValue:StringEqualsIfExists': { 'holdfast:Tags': ['prod'] } })],
    expect: 'Allow',
  },
  {
    name: 'no qualifier on a multi-valued key: any value',
    identity: [when({ StringEquals: { 'holdfast:Tags': 'ops' } })],
    ctx: { keys: { 'holdfast:Tags': ['dev', 'ops'] } },
    expect: 'Allow',
  },
  {
    name: 'no qualifier, negated, multi-valued: none may match',
    identity: [when({ StringNotEquals: { 'holdfast:Tags': 'ops' } })],
    ctx: { keys: { 'holdfast:Tags': ['dev', 'ops'] } },
    expect: 'ImplicitDeny',
  },

  // --- Combining: keys AND, values OR, operators AND ---
  {
    name: 'two keys in one operator: both hold',
    identity: [when({ StringEquals: { 'aws:username': 'alice', 'aws:PrincipalAccount': ACCT } })],
    expect: 'Allow',
  },
  {
    name: 'two keys in one operator: one fails',
    identity: [when({ StringEquals: { 'aws:username': 'alice', 'aws:PrincipalAccount': OTHER } })],
    expect: 'ImplicitDeny',
  },
  {
    name: 'two operators: both hold',
    identity: [
      when({
        Bool: { 'aws:MultiFactorAuthPresent': 'true' },
        IpAddress: { 'aws:SourceIp': '203.0.113.0/24' },
      }),
    ],
    expect: 'Allow',
  },
  {
    name: 'two operators: one fails',
    identity: [
      when({ Bool: { 'aws:MultiFactorAuthPresent': 'true' }, IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }),
    ],
    expect: 'ImplicitDeny',
  },
  {
    name: 'MFA and fresh: both needed (age fails)',
    identity: [
      when({
        Bool: { 'aws:MultiFactorAuthPresent': 'true' },
        NumericLessThan: { 'aws:MultiFactorAuthAge': 300 },
      }),
    ],
    ctx: { age: 301 },
    expect: 'ImplicitDeny',
  },
  {
    name: 'statements OR: second statement matches',
    identity: [
      [
        allow('iam:GetUser', '*', { StringEquals: { 'aws:username': 'bob' } }),
        allow('iam:GetUser', '*', { StringEquals: { 'aws:username': 'alice' } }),
      ],
    ],
    expect: 'Allow',
  },

  // --- Account policies cap identity policies ---
  {
    name: 'account policy allows too: allow',
    identity: [[allow('iam:GetUser')]],
    account: [[allow('*')]],
    expect: 'Allow',
  },
  {
    name: 'account policy allows, identity does not: implicit deny',
    identity: [[allow('iam:ListUsers')]],
    account: [[allow('*')]],
    expect: 'ImplicitDeny',
  },
  {
    name: 'account policy does not allow the action: capped',
    identity: [[allow('*')]],
    account: [[allow('holdfast:*')]],
    expect: 'ImplicitDeny',
  },
  {
    name: 'account cap by resource',
    identity: [[allow('*')]],
    account: [[allow('*', `arn:aws:iam::${ACCT}:user/a*`)]],
    ctx: { resource: userArn('bob') },
    expect: 'ImplicitDeny',
  },
  {
    name: 'account cap by condition: MFA sessions only',
    identity: [[allow('*')]],
    account: [[allow('*', '*', { Bool: { 'aws:MultiFactorAuthPresent': 'true' } })]],
    ctx: { cred: 'key' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'account cap by condition: MFA session allowed',
    identity: [[allow('*')]],
    account: [[allow('*', '*', { Bool: { 'aws:MultiFactorAuthPresent': 'true' } })]],
    ctx: { cred: 'mfa' },
    expect: 'Allow',
  },
  {
    name: 'account cap grants nothing by itself',
    identity: [],
    account: [[allow('*')]],
    expect: 'ImplicitDeny',
  },
  {
    name: 'account allow spread over two account policies',
    identity: [[allow('*')]],
    account: [[allow('holdfast:*')], [allow('iam:Get*')]],
    expect: 'Allow',
  },
  {
    name: 'account IP guard as a deny',
    identity: [[allow('*')]],
    account: [[allow('*'), deny('*', '*', { NotIpAddress: { 'aws:SourceIp': '198.51.100.0/24' } })]],
    expect: 'ExplicitDeny',
  },
  {
    name: 'account phishing-resistant requirement for deactivation',
    identity: [[allow('*')]],
    account: [
      [
        allow('*'),
        deny('iam:DeactivateMFADevice', '*', { BoolIfExists: { 'holdfast:PhishingResistant': 'false' } }),
      ],
    ],
    ctx: { action: 'iam:DeactivateMFADevice', phishing: false },
    expect: 'ExplicitDeny',
  },
  {
    name: 'empty account policy list caps nothing',
    identity: [[allow('iam:GetUser')]],
    account: [],
    expect: 'Allow',
  },

  ...mfaTableCases,
];

// ---------------------------------------------------------------------------------------------
// Built-in roles.
// ---------------------------------------------------------------------------------------------

interface RoleCase {
  role: Role;
  action: string;
  resource: string;
  username?: string;
  account?: string;
  expect: Decision;
}

const ROLE_CASES: RoleCase[] = [
  { role: 'owner', action: 'iam:CreateUser', resource: userArn('new'), expect: 'Allow' },
  { role: 'owner', action: 'holdfast:DeleteAccount', resource: `arn:aws:iam::${ACCT}:root`, expect: 'Allow' },
  { role: 'owner', action: 'iam:CreateUser', resource: userArn('new', OTHER), expect: 'ImplicitDeny' },
  {
    role: 'owner',
    action: 'iam:GetUser',
    resource: userArn('alice'),
    account: OTHER,
    expect: 'ImplicitDeny',
  },
  { role: 'admin', action: 'iam:CreateUser', resource: userArn('new'), expect: 'Allow' },
  { role: 'admin', action: 'iam:DeactivateMFADevice', resource: userArn('bob'), expect: 'Allow' },
  { role: 'admin', action: 'holdfast:ApproveReset', resource: userArn('bob'), expect: 'Allow' },
  {
    role: 'admin',
    action: 'holdfast:DeleteAccount',
    resource: `arn:aws:iam::${ACCT}:root`,
    expect: 'ExplicitDeny',
  },
  {
    role: 'admin',
    action: 'holdfast:TransferOwnership',
    resource: `arn:aws:iam::${ACCT}:root`,
    expect: 'ExplicitDeny',
  },
  {
    role: 'admin',
    action: 'sts:AssumeRole',
    resource: `arn:aws:iam::${ACCT}:role/x`,
    expect: 'ImplicitDeny',
  },
  { role: 'admin', action: 'iam:CreateUser', resource: userArn('new', OTHER), expect: 'ImplicitDeny' },
  { role: 'helpdesk', action: 'iam:GetUser', resource: userArn('bob'), expect: 'Allow' },
  { role: 'helpdesk', action: 'iam:ListMFADevices', resource: userArn('bob'), expect: 'Allow' },
  { role: 'helpdesk', action: 'holdfast:RevokeUserSessions', resource: userArn('bob'), expect: 'Allow' },
  { role: 'helpdesk', action: 'holdfast:OpenResetRequest', resource: userArn('bob'), expect: 'Allow' },
  { role: 'helpdesk', action: 'holdfast:ApproveReset', resource: userArn('bob'), expect: 'ImplicitDeny' },
  { role: 'helpdesk', action: 'iam:DeactivateMFADevice', resource: userArn('bob'), expect: 'ImplicitDeny' },
  { role: 'helpdesk', action: 'iam:CreateUser', resource: userArn('new'), expect: 'ImplicitDeny' },
  { role: 'helpdesk', action: 'iam:ChangePassword', resource: userArn('alice'), expect: 'Allow' },
  { role: 'helpdesk', action: 'iam:ChangePassword', resource: userArn('bob'), expect: 'ImplicitDeny' },
  { role: 'user', action: 'iam:ChangePassword', resource: userArn('alice'), expect: 'Allow' },
  { role: 'user', action: 'iam:ChangePassword', resource: userArn('bob'), expect: 'ImplicitDeny' },
  { role: 'user', action: 'iam:CreateVirtualMFADevice', resource: mfaArn('alice'), expect: 'Allow' },
  { role: 'user', action: 'iam:CreateVirtualMFADevice', resource: mfaArn('alice/phone'), expect: 'Allow' },
  {
    role: 'user',
    action: 'iam:CreateVirtualMFADevice',
    resource: mfaArn('bob/phone'),
    expect: 'ImplicitDeny',
  },
  { role: 'user', action: 'iam:CreateVirtualMFADevice', resource: mfaArn('alicex'), expect: 'ImplicitDeny' },
  { role: 'user', action: 'iam:EnableMFADevice', resource: userArn('alice'), expect: 'Allow' },
  { role: 'user', action: 'iam:DeactivateMFADevice', resource: userArn('alice'), expect: 'Allow' },
  { role: 'user', action: 'iam:DeactivateMFADevice', resource: userArn('bob'), expect: 'ImplicitDeny' },
  { role: 'user', action: 'iam:ListMFADevices', resource: userArn('alice'), expect: 'Allow' },
  { role: 'user', action: 'iam:ListUsers', resource: `arn:aws:iam::${ACCT}:user/*`, expect: 'ImplicitDeny' },
  { role: 'user', action: 'holdfast:GetAccount', resource: `arn:aws:iam::${ACCT}:root`, expect: 'Allow' },
  {
    role: 'user',
    action: 'holdfast:GetAccount',
    resource: `arn:aws:iam::${OTHER}:root`,
    expect: 'ImplicitDeny',
  },
  { role: 'user', action: 'holdfast:RegenerateRecoveryCodes', resource: userArn('alice'), expect: 'Allow' },
  {
    role: 'user',
    action: 'iam:ChangePassword',
    resource: userArn('alice', OTHER),
    account: ACCT,
    expect: 'ImplicitDeny',
  },
];

// ---------------------------------------------------------------------------------------------

describe('evaluate: policy table', () => {
  it('has at least 150 cases', () => {
    expect(CASES.length + ROLE_CASES.length).toBeGreaterThanOrEqual(150);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const result = evaluate({
      identityPolicies: c.identity.map(compile),
      accountPolicies: (c.account ?? []).map(compile),
      context: ctx(c.ctx),
    });
    expect(result.decision).toBe(c.expect);
  });
});

describe('evaluate: built-in roles', () => {
  it.each(
    ROLE_CASES.map((c) => [`${c.role} ${c.action} ${c.resource} (as ${c.account ?? ACCT})`, c] as const),
  )('%s', (_name, c) => {
    const result = evaluate({
      identityPolicies: builtinPoliciesFor(c.role),
      accountPolicies: [],
      context: ctx({
        action: c.action,
        resource: c.resource,
        username: c.username ?? 'alice',
        account: c.account,
      }),
    });
    expect(result.decision).toBe(c.expect);
  });

  it('ships every built-in role as a parseable JSON document', () => {
    for (const text of Object.values(BUILTIN_POLICY_DOCUMENTS))
      expect(parsePolicy(text).statements.length).toBeGreaterThan(0);
    expect(OWNER_ONLY_ACTIONS).toContain('holdfast:DeleteAccount');
  });
});

describe('evaluate: result details', () => {
  it('reports the deny statements behind an explicit deny', () => {
    const result = evaluate({
      identityPolicies: [
        compile([{ ...allow('*'), Sid: 'All' }]),
        compile([{ ...deny('iam:*'), Sid: 'NoIam' }]),
      ],
      accountPolicies: [],
      context: ctx(),
    });
    expect(result).toEqual({
      decision: 'ExplicitDeny',
      matchedStatements: [
        { set: 'identity', policyIndex: 1, statementIndex: 0, sid: 'NoIam', effect: 'Deny' },
      ],
    });
  });

  it('reports every allow statement behind an allow, from both sets', () => {
    const result = evaluate({
      identityPolicies: [compile([allow('iam:ListUsers'), { ...allow('iam:Get*'), Sid: 'Get' }])],
      accountPolicies: [compile([{ ...allow('*'), Sid: 'Cap' }])],
      context: ctx(),
    });
    expect(result.decision).toBe('Allow');
    expect(result.matchedStatements.map((m) => [m.set, m.statementIndex, m.sid])).toEqual([
      ['identity', 1, 'Get'],
      ['account', 0, 'Cap'],
    ]);
  });

  it('says why an implicit deny happened', () => {
    const none = evaluate({ identityPolicies: [], accountPolicies: [], context: ctx() });
    expect(none.implicitDenyReason).toBe('no-identity-allow');
    const capped = evaluate({
      identityPolicies: [compile([allow('*')])],
      accountPolicies: [compile([allow('holdfast:*')])],
      context: ctx(),
    });
    expect(capped.implicitDenyReason).toBe('not-allowed-by-account-policy');
  });

  it('finds the one statement that allows among 10 policies of 50 conditioned statements', () => {
    const policies = Array.from({ length: 10 }, (_, p) =>
      compile(
        Array.from({ length: 5 }, (_, s) =>
          allow(`iam:Action${p}x${s}*`, 'arn:aws:iam::*:user/${aws:username}', {
            Bool: { 'aws:MultiFactorAuthPresent': 'true' },
            NumericLessThan: { 'aws:MultiFactorAuthAge': 3600 },
          }),
        ),
      ),
    );
    // The speed of this decision is a bench figure (`npm run bench`, authorization scenario).
    expect(
      evaluate({
        identityPolicies: policies,
        accountPolicies: [],
        context: ctx({ action: 'iam:Action9x4Last' }),
      }).decision,
    ).toBe('Allow');
    expect(
      evaluate({ identityPolicies: policies, accountPolicies: [], context: ctx({ action: 'iam:Action9x5' }) })
        .decision,
    ).toBe('ImplicitDeny');
  });
});
