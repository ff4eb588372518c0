import { describe, expect, it } from 'vitest';
import { isHoldfastError } from '../errors.js';
import {
  approvalsRequired,
  checkEvidence,
  DEFAULT_WAIT_MS,
  MIN_RECOVERY_WAIT_MS,
  MIN_USER_RESET_WAIT_MS,
  parseRecoverySettings,
  transitionFor,
  waitFor,
} from './policy.js';
import { expectCode } from '../../../test/helpers/errors.js';

const H = 3_600_000;

describe('waiting periods', () => {
  it.each([
    ['self-service, default', 'self_service', 'user', {}, DEFAULT_WAIT_MS],
    ['self-service, setting of 2 h', 'self_service', 'user', { recoveryWaitSeconds: 7200 }, 2 * H],
    [
      'self-service never below 1 h',
      'self_service',
      'owner',
      { recoveryWaitSeconds: 60 },
      MIN_RECOVERY_WAIT_MS,
    ],
    ['user reset shortened to 30 min', 'helpdesk', 'user', { userResetWaitSeconds: 1800 }, 30 * 60_000],
    [
      'user reset never below 15 min',
      'helpdesk',
      'user',
      { userResetWaitSeconds: 60 },
      MIN_USER_RESET_WAIT_MS,
    ],
    [
      'helpdesk role target may be shortened too',
      'helpdesk',
      'helpdesk',
      { userResetWaitSeconds: 900 },
      15 * 60_000,
    ],
    ['admin reset is never shortened', 'helpdesk', 'admin', { userResetWaitSeconds: 900 }, DEFAULT_WAIT_MS],
    ['owner reset is never shortened', 'helpdesk', 'owner', { userResetWaitSeconds: 900 }, DEFAULT_WAIT_MS],
    [
      'a shortened wait never exceeds the normal one',
      'helpdesk',
      'user',
      { recoveryWaitSeconds: 3600, userResetWaitSeconds: 7200 },
      H,
    ],
  ] as const)('%s', (_n, kind, role, settings, expected) => {
    expect(waitFor({ kind, targetRole: role, settings })).toBe(expected);
  });

  it('refuses settings under the floors', () => {
    expectCode(() => parseRecoverySettings({ recoveryWaitSeconds: 3599 }), 'RECOVERY_SETTING_INVALID');
    expectCode(() => parseRecoverySettings({ userResetWaitSeconds: 899 }), 'RECOVERY_SETTING_INVALID');
    expect(parseRecoverySettings({ recoveryWaitSeconds: 3600, userResetWaitSeconds: 900 })).toEqual({
      recoveryWaitSeconds: 3600,
      userResetWaitSeconds: 900,
    });
    expectCode(
      () => parseRecoverySettings({ evidenceChecklist: ['gut_feeling'] }),
      'RECOVERY_SETTING_INVALID',
    );
  });
});

describe('approvals', () => {
  it.each([
    ['owner', false, 1],
    ['admin', false, 1],
    ['helpdesk', false, 0],
    ['user', false, 0],
    ['user', true, 1],
  ] as const)('target %s, account requires second approver %s: %i', (role, all, n) => {
    expect(approvalsRequired({ targetRole: role, requireSecondApprover: all })).toBe(n);
  });
});

describe('evidence', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return isHoldfastError(err) ? err.code : 'other';
    }
    return null;
  };
  it('needs a checklist item; free text alone is refused', () => {
    expect(code(() => checkEvidence([], undefined))).toBe('RECOVERY_EVIDENCE_REQUIRED');
    expect(code(() => checkEvidence([{ kind: 'note', note: 'she sounded genuine' }], undefined))).toBe(
      'RECOVERY_EVIDENCE_REQUIRED',
    );
    expect(checkEvidence([{ kind: 'phone_callback', note: ' called +1 415 ' }], undefined)).toEqual([
      { kind: 'phone_callback', note: 'called +1 415' },
    ]);
  });
  it("follows the account's checklist", () => {
    expect(code(() => checkEvidence([{ kind: 'phone_callback', note: '' }], ['id_document']))).toBe(
      'RECOVERY_EVIDENCE_REQUIRED',
    );
    expect(checkEvidence([{ kind: 'id_document', note: 'passport' }], ['id_document'])).toHaveLength(1);
  });
});

describe('transitions', () => {
  it('names reset events reset.* and refuses what the table does not allow', () => {
    expect(transitionFor({ state: 'awaiting_approval', kind: 'helpdesk' }, 'approved')).toMatchObject({
      to: 'waiting',
      audit: 'reset.approve',
    });
    expect(transitionFor({ state: 'waiting', kind: 'self_service' }, 'wait_over').audit).toBe(
      'recovery.complete',
    );
    expect(transitionFor({ state: 'waiting', kind: 'helpdesk' }, 'cancel').audit).toBe('reset.cancel');
    for (const state of ['completed', 'cancelled', 'expired'] as const) {
      expectCode(() => transitionFor({ state, kind: 'helpdesk' }, 'cancel'), 'RECOVERY_STATE_INVALID');
    }
    expectCode(
      () => transitionFor({ state: 'awaiting_approval', kind: 'helpdesk' }, 'wait_over'),
      'RECOVERY_STATE_INVALID',
    );
    expectCode(
      () => transitionFor({ state: 'waiting', kind: 'helpdesk' }, 'expire'),
      'RECOVERY_STATE_INVALID',
    );
  });
});
