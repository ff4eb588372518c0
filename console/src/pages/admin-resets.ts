import { get, isApiError, post, seg } from '../api.js';
import { ROLE_WORDS, describeAdminError, errorLine, durationWords } from '../admin-words.js';
import {
  append,
  busy,
  field,
  formatTime,
  h,
  labelTables,
  replaceChildren,
  statusLine,
  uniqueId,
} from '../dom.js';
import type { PageContext } from '../router.js';
import { currentSession } from '../session.js';
import type { User } from '../types.js';
import { adminNav, mapLimited } from './admin-nav.js';

/** A recovery or help-desk reset request as GET /v1/resets answers it. */
interface ResetRequest {
  id: string;
  kind: 'helpdesk' | 'self_service';
  state: 'verifying' | 'awaiting_approval' | 'waiting' | 'completed' | 'cancelled' | 'expired';
  userId: string;
  requestedBy: string | null;
  evidence: Array<{ kind: string; note: string }>;
  reason: string;
  approvalsRequired: number;
  approvals: string[];
  waitSeconds: number;
  waitUntil: string | null;
  createdAt: string;
  completedAt: string | null;
  cancelledAt: string | null;
  cancelledBy: string | null;
}

/** An outbox message as GET /v1/outbox answers it (never its contents). */
interface OutboxMessage {
  id: string;
  channel: string;
  state: string;
  recipient: string | null;
  principalName: string | null;
  requestId: string | null;
}

/** The built-in evidence checklist (src/core/recovery/policy.ts EVIDENCE_KINDS). */
const EVIDENCE: ReadonlyArray<[string, string]> = [
  ['phone_callback', 'Called back the phone number on file and the person confirmed the request'],
  ['factor_code', 'The person read out a valid code from one of their enrolled factors'],
  ['id_document', 'Checked an official identity document against the records'],
  ['manager_confirmation', "The person's manager confirmed the request through a known channel"],
];

const STATE_WORDS: Readonly<Record<ResetRequest['state'], string>> = {
  verifying: 'Waiting for the person to confirm their e-mail and phone',
  awaiting_approval: 'Waiting for a second approver',
  waiting: 'Waiting period running',
  completed: 'Done: a one-time enrolment grant was sent',
  cancelled: 'Cancelled',
  expired: 'Expired before it was approved',
};

const OPEN = new Set(['verifying', 'awaiting_approval', 'waiting']);
const CHANNEL_WORDS: Readonly<Record<string, string>> = {
  email: 'e-mail',
  sms: 'text message',
  webhook: 'webhook',
};

/**
 * Help desk: MFA resets. Anyone who may open a reset records the checks they made from the
 * evidence checklist; owners and administrators also see every request, approve as the second
 * approver (never their own request, never one about themselves) and cancel. Each request shows
 * its wait (when it takes effect) and who was told.
 */
export async function render(ctx: PageContext): Promise<void> {
  const me = currentSession();
  const myId = me?.user.id ?? '';
  const mayDecide = me?.user.role === 'owner' || me?.user.role === 'admin';
  const list = h('section', { 'aria-labelledby': 'resets-title' });
  const open = h('section', { 'aria-labelledby': 'new-reset-title' });
  // Outside the list, so what an action did stays on screen when the list is drawn again.
  const said = statusLine();
  ctx.main.append(
    h('h1', {}, 'Help desk: MFA resets'),
    adminNav('/admin/resets'),
    h(
      'p',
      {},
      'A reset gives someone who lost every second factor a one-time enrolment grant, after a waiting period during which they and every owner and administrator are told and can cancel it. Resets of owners and administrators need a second approver: another owner or administrator, never the person who asked for it.',
    ),
    open,
    said.el,
    list,
  );
  const refresh = () => renderList(list, { myId, mayDecide, refresh, status: said });
  renderOpen(open, { mayDecide, refresh });
  await refresh();
}

function renderOpen(
  section: HTMLElement,
  options: { mayDecide: boolean; refresh: () => Promise<void> },
): void {
  const status = statusLine();
  const user = h('input', { name: 'user', required: true, autocomplete: 'off', maxlength: 254 });
  const reason = h('input', { name: 'reason', maxlength: 500, autocomplete: 'off' });
  const checks = EVIDENCE.map(([kind, words]) => {
    const box = h('input', {
      type: 'checkbox',
      name: 'evidence',
      value: kind,
      id: uniqueId(`evidence-${kind}`),
    });
    const note = h('input', {
      name: `note-${kind}`,
      maxlength: 500,
      autocomplete: 'off',
      id: uniqueId(`note-${kind}`),
      disabled: true,
    });
    box.addEventListener('change', () => {
      note.disabled = !box.checked;
      note.required = box.checked;
      if (box.checked) note.focus();
    });
    return {
      kind,
      box,
      note,
      el: h(
        'div',
        {},
        h('div', { class: 'choice' }, box, h('label', { for: box.id }, words)),
        h(
          'div',
          { class: 'field evidence-note' },
          h('label', { for: note.id }, 'What you saw or were told'),
          note,
        ),
      ),
    };
  });
  // A note is asked for each ticked check (busy() puts back the states it found, so this runs after).
  const syncNotes = () =>
    checks.forEach((c) => {
      c.note.disabled = !c.box.checked;
      c.note.required = c.box.checked;
    });
  const form = h(
    'form',
    { 'data-testid': 'open-reset' },
    field('User (e-mail or user name)', user, 'The person who lost their second factors.'),
    h('fieldset', {}, h('legend', {}, 'Checks you made (at least one)'), ...checks.map((c) => c.el)),
    field('Reason (optional)', reason, 'For example: phone lost on a trip.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Request reset')),
  );
  const result = h('div', { 'data-testid': 'open-reset-result', 'aria-live': 'polite' });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    result.replaceChildren();
    const evidence = checks
      .filter((c) => c.box.checked)
      .map((c) => ({ kind: c.kind, note: c.note.value.trim() }));
    void busy(form, async () => {
      try {
        const { request } = await post<{ request: ResetRequest }>('/v1/resets', {
          user: user.value.trim(),
          evidence,
          ...(reason.value.trim() === '' ? {} : { reason: reason.value.trim() }),
        });
        result.replaceChildren(
          h(
            'p',
            { class: 'status info', role: 'status' },
            request.state === 'awaiting_approval'
              ? `Reset requested for ${user.value.trim()}. It needs a second approver: another owner or administrator (not you) approves it below, then the ${durationWords(request.waitSeconds)} wait starts.`
              : `Reset requested for ${user.value.trim()}. It takes effect at ${formatTime(request.waitUntil)} unless someone cancels it; the person and every owner and administrator were told.`,
          ),
        );
        form.reset();
        if (options.mayDecide) await options.refresh();
      } catch (err) {
        status.error(describeAdminError(err));
      }
    }).then(syncNotes);
  });
  append(section, [
    h('h2', { id: 'new-reset-title' }, 'Request a reset'),
    options.mayDecide
      ? null
      : h(
          'p',
          { class: 'hint' },
          'Your role opens resets for users (not for owners or administrators). An owner or administrator approves, follows and cancels them.',
        ),
    form,
    status.el,
    result,
  ]);
}

async function renderList(
  section: HTMLElement,
  options: {
    myId: string;
    mayDecide: boolean;
    refresh: () => Promise<void>;
    status: ReturnType<typeof statusLine>;
  },
): Promise<void> {
  if (!options.mayDecide) {
    section.replaceChildren();
    return;
  }
  let requests: ResetRequest[];
  try {
    requests = (await get<{ requests: ResetRequest[] }>('/v1/resets')).requests;
  } catch (err) {
    replaceChildren(section, h('h2', { id: 'resets-title' }, 'Requests'), errorLine(err));
    return;
  }
  // Names beside ids: one request per person named (a handful), and one for who was told.
  const ids = [
    ...new Set(
      requests.flatMap((r) => [r.userId, r.requestedBy, ...r.approvals]).filter((id): id is string => !!id),
    ),
  ];
  const names = new Map<string, string>();
  await mapLimited(ids, 4, async (id) => {
    try {
      const { user } = await get<{ user: User }>(`/v1/users/${seg(id)}`);
      names.set(id, `${user.email} (${ROLE_WORDS[user.role] ?? user.role})`);
    } catch {
      names.set(id, id);
    }
  });
  let told: OutboxMessage[] = [];
  try {
    told = (await get<{ messages: OutboxMessage[] }>('/v1/outbox', { query: { limit: 100 } })).messages;
  } catch (err) {
    if (!isApiError(err)) throw err;
  }
  const nameOf = (id: string | null) =>
    id === null ? 'the host operator' : id === options.myId ? 'you' : (names.get(id) ?? id);
  const sorted = [...requests].sort(
    (a, b) => Number(OPEN.has(b.state)) - Number(OPEN.has(a.state)) || b.createdAt.localeCompare(a.createdAt),
  );
  const { status } = options;
  const rows = sorted.map((r) => {
    const actions: HTMLElement[] = [];
    const act = (label: string, path: string, done: string, className?: string) => {
      const button = h('button', { type: 'button', class: className ?? null }, label);
      button.addEventListener('click', () => {
        status.clear();
        void busy(button, async () => {
          try {
            await post(path, path.endsWith('/cancel') ? {} : undefined);
            await options.refresh();
            status.info(done);
          } catch (err) {
            status.error(describeAdminError(err));
          }
        });
      });
      return button;
    };
    const mine = r.requestedBy === options.myId;
    const aboutMe = r.userId === options.myId;
    let approval: HTMLElement | string = `${r.approvals.length} of ${r.approvalsRequired}`;
    if (r.state === 'awaiting_approval') {
      if (mine) {
        approval = h(
          'span',
          { 'data-testid': 'own-request' },
          'You asked for this reset, so you cannot approve it: another owner or administrator must.',
        );
      } else if (aboutMe) {
        approval = 'This reset is about you: another owner or administrator must approve it.';
      } else if (r.approvals.includes(options.myId)) {
        approval = 'You approved it; waiting for another approver.';
      } else {
        actions.push(
          act(
            'Approve',
            `/v1/resets/${seg(r.id)}/approve`,
            `Approved: the waiting period for ${nameOf(r.userId)} has started.`,
          ),
        );
      }
    } else if (r.approvals.length > 0) {
      approval = `Approved by ${r.approvals.map(nameOf).join(', ')}`;
    } else if (r.approvalsRequired === 0) {
      approval = 'None needed';
    }
    if (OPEN.has(r.state)) {
      actions.push(
        act('Cancel', `/v1/resets/${seg(r.id)}/cancel`, 'Cancelled: nothing changed.', 'secondary'),
      );
    }
    const wait =
      r.state === 'waiting'
        ? `Takes effect at ${formatTime(r.waitUntil)} unless cancelled`
        : r.state === 'awaiting_approval' || r.state === 'verifying'
          ? `${durationWords(r.waitSeconds)} once approved`
          : r.state === 'completed'
            ? `Took effect at ${formatTime(r.completedAt)}`
            : r.state === 'cancelled'
              ? `Cancelled at ${formatTime(r.cancelledAt)} by ${nameOf(r.cancelledBy)}`
              : '—';
    const recipients = told.filter((m) => m.requestId === r.id);
    const toldList =
      recipients.length === 0
        ? 'Nobody yet'
        : h(
            'ul',
            { class: 'plain' },
            ...recipients.map((m) =>
              h(
                'li',
                {},
                `${m.principalName ?? m.recipient ?? 'someone'} by ${CHANNEL_WORDS[m.channel] ?? m.channel}${m.state === 'sent' ? '' : m.state === 'failed' ? ' (delivery failed)' : ' (waiting to be sent)'}`,
              ),
            ),
          );
    return h(
      'tr',
      { 'data-request': r.id },
      h('th', { scope: 'row' }, nameOf(r.userId)),
      h(
        'td',
        {},
        STATE_WORDS[r.state],
        h('br', {}),
        h('span', { class: 'hint' }, r.kind === 'helpdesk' ? 'Help-desk reset' : 'Self-service recovery'),
      ),
      h(
        'td',
        {},
        r.kind === 'helpdesk' ? `Asked by ${nameOf(r.requestedBy)}` : 'The person themselves',
        r.evidence.length === 0
          ? null
          : h(
              'ul',
              { class: 'plain' },
              ...r.evidence.map((e) =>
                h('li', {}, `${EVIDENCE.find(([k]) => k === e.kind)?.[1] ?? e.kind}: ${e.note}`),
              ),
            ),
        r.reason ? h('p', { class: 'hint' }, `Reason: ${r.reason}`) : null,
      ),
      h('td', {}, approval),
      h('td', {}, wait),
      h('td', {}, toldList),
      h('td', {}, actions.length === 0 ? '—' : h('div', { class: 'actions inline' }, ...actions)),
    );
  });
  replaceChildren(
    section,
    h('h2', { id: 'resets-title' }, 'Requests'),
    requests.length === 0
      ? h('p', {}, 'No reset or recovery requests.')
      : h(
          'table',
          { class: 'data', 'data-testid': 'resets-table' },
          h(
            'caption',
            {},
            `${requests.filter((r) => OPEN.has(r.state)).length} open, ${requests.length} in all`,
          ),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...[
                'Person',
                'State',
                'Asked by and evidence',
                'Approval',
                'Wait',
                'Who was told',
                'Actions',
              ].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h('tbody', {}, ...rows),
        ),
  );
  labelTables(section);
}
