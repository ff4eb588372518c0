// Authorization decisions per second of one core's CPU time (this process, one thread): the policy engine
// deciding requests of a principal holding 10 policies with 50 statements in all (MFA conditions,
// policy variables, IP ranges, MFA age, a NotAction deny), cached (compiled once) and cold
// (every document parsed and compiled for every decision). The baseline, in the same process, is
// the same decisions for a principal holding only its built-in role policy; the figures are
// medians of several runs and the ratio says what 10 customer policies cost.
import { distModule, figure, median } from '../lib.mjs';

export const name = 'authorization';
export const description =
  'policy engine decisions/s on one core, principal with 10 policies / 50 statements, cached and cold, vs built-in role only';

const TARGET_CACHED_PER_SECOND = 200_000;
const ACCOUNT = '123456789012';

function documents() {
  const docs = [];
  for (let p = 0; p < 10; p++) {
    const statements = [
      {
        Sid: `ReadOwn${p}`,
        Effect: 'Allow',
        Action: ['iam:GetUser', 'iam:ListMFADevices', `holdfast:Custom${p}*`],
        Resource: `arn:aws:iam::${ACCOUNT}:user/\${aws:username}`,
      },
      {
        Sid: `AdminWithMfa${p}`,
        Effect: 'Allow',
        Action: ['iam:CreateUser', 'iam:PutUserPolicy', `iam:Tag${p}*`],
        Resource: `arn:aws:iam::${ACCOUNT}:user/team${p}/*`,
        Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
      },
      {
        Sid: `FreshMfa${p}`,
        Effect: 'Allow',
        Action: 'iam:DeactivateMFADevice',
        Resource: `arn:aws:iam::${ACCOUNT}:user/\${aws:username}`,
        Condition: { NumericLessThan: { 'aws:MultiFactorAuthAge': '900' } },
      },
      {
        Sid: `Office${p}`,
        Effect: 'Allow',
        Action: ['holdfast:ReadAuditLog', 'iam:ListUsers'],
        Resource: '*',
        Condition: { IpAddress: { 'aws:SourceIp': [`10.${p}.0.0/16`, '192.168.0.0/24'] } },
      },
      {
        Sid: `DenyNoMfa${p}`,
        Effect: 'Deny',
        NotAction: ['iam:GetUser', 'iam:ListMFADevices', 'iam:CreateVirtualMFADevice', 'iam:EnableMFADevice'],
        Resource: '*',
        Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
      },
    ];
    docs.push(JSON.stringify({ Version: '2012-10-17', Statement: statements }));
  }
  return docs;
}

export async function run({ quick, log }) {
  const { parsePolicy } = await distModule('core/policy/parse-policy.js');
  const { evaluate } = await distModule('core/policy/evaluate.js');
  const { buildRequestContext } = await distModule('core/policy/context.js');
  const { builtinPoliciesFor } = await distModule('core/policy/builtin-roles.js');

  const docs = documents();
  const compiled = docs.map((d) => parsePolicy(d));
  const statements = compiled.reduce((n, p) => n + p.statements.length, 0);
  if (compiled.length !== 10 || statements !== 50)
    throw new Error('bench set-up: expected 10 policies / 50 statements');
  const builtin = builtinPoliciesFor('user');
  const now = Date.UTC(2026, 0, 1, 12);
  const requests = [
    ['iam:GetUser', 'user/alice'],
    ['iam:CreateUser', 'user/team3/bob'],
    ['iam:DeactivateMFADevice', 'user/alice'],
    ['iam:ListUsers', 'root'],
    ['holdfast:ReadAuditLog', 'root'],
    ['iam:DeleteUser', 'user/carol'],
    ['holdfast:Custom7Thing', 'user/alice'],
    ['iam:ListMFADevices', 'user/alice'],
  ];
  const contexts = [];
  for (const [action, resource] of requests) {
    for (const mfa of [
      null,
      {
        authenticatedAtMs: now - 60_000,
        assurance: 'software_otp',
        factorKind: 'totp',
        phishingResistant: false,
      },
    ]) {
      contexts.push(
        buildRequestContext({
          principal: {
            accountId: ACCOUNT,
            username: 'alice',
            userid: 'AIDAEXAMPLEEXAMPLE01',
            arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
          },
          action,
          resource: `arn:aws:iam::${ACCOUNT}:${resource}`,
          nowMs: now,
          credential: 'session',
          mfa,
          sourceIp: '10.3.4.5',
        }),
      );
    }
  }

  /**
   * Decisions per second of this thread's CPU time (user + system, from process.cpuUsage) while
   * deciding for `ms` of wall time: what one core does, whatever else shares the machine. The
   * process runs nothing else meanwhile (no server, no timers).
   */
  const rate = (decide, ms) => {
    let n = 0;
    let sink = 0;
    const start = performance.now();
    const cpu0 = process.cpuUsage();
    while (performance.now() - start < ms) {
      for (let i = 0; i < 256; i++) {
        sink += decide(contexts[n++ % contexts.length]).decision.length;
      }
    }
    const cpu = process.cpuUsage(cpu0);
    if (sink === 0) throw new Error('no decisions');
    return n / ((cpu.user + cpu.system) / 1e6);
  };
  const cached = (context) =>
    evaluate({ identityPolicies: [...builtin, ...compiled], accountPolicies: [], context });
  const cold = (context) =>
    evaluate({
      identityPolicies: [...builtin, ...docs.map((d) => parsePolicy(d))],
      accountPolicies: [],
      context,
    });
  const baseline = (context) => evaluate({ identityPolicies: builtin, accountPolicies: [], context });

  // Decisions must differ by request (a sanity check that the work is real).
  const outcomes = new Set(contexts.map((c) => cached(c).decision));
  if (outcomes.size < 2) throw new Error('bench set-up: every decision was the same');

  const runs = quick ? 3 : 7;
  const ms = quick ? 300 : 1_000;
  rate(cached, ms); // warm-up (JIT)
  const cachedRuns = [];
  const baselineRuns = [];
  const coldRuns = [];
  for (let r = 0; r < runs; r++) {
    baselineRuns.push(rate(baseline, ms));
    cachedRuns.push(rate(cached, ms));
    coldRuns.push(rate(cold, ms / 2));
  }
  const cachedMedian = median(cachedRuns);
  const baselineMedian = median(baselineRuns);
  const coldMedian = median(coldRuns);
  log(
    `cached ${Math.round(cachedMedian)}/s, cold ${Math.round(coldMedian)}/s, built-in only ${Math.round(baselineMedian)}/s (medians of ${runs})`,
  );
  return {
    figures: [
      figure({
        id: 'cached',
        label: 'decisions per CPU-second, 10 policies / 50 statements, compiled and cached',
        value: Math.round(cachedMedian),
        unit: '/s',
        target: { op: '>=', value: TARGET_CACHED_PER_SECOND },
        digits: 0,
      }),
      figure({
        id: 'cold',
        label: 'decisions/s, same, every document parsed and compiled per decision',
        value: Math.round(coldMedian),
        unit: '/s',
        digits: 0,
      }),
      figure({
        id: 'baseline',
        label: 'baseline: decisions/s with the built-in role policy only',
        value: Math.round(baselineMedian),
        unit: '/s',
        digits: 0,
      }),
      figure({
        id: 'ratio',
        label: 'cached 10-policy rate / built-in-only rate',
        value: cachedMedian / baselineMedian,
        unit: 'x',
        digits: 2,
      }),
    ],
    details: {
      runs,
      msPerRun: ms,
      cachedRuns,
      coldRuns,
      baselineRuns,
      policies: 10,
      statements,
      requestKinds: contexts.length,
    },
  };
}
