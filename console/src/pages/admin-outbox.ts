import { get } from '../api.js';
import { errorLine } from '../admin-words.js';
import { field, formatTime, h, labelTables } from '../dom.js';
import type { PageContext } from '../router.js';
import { adminNav } from './admin-nav.js';

/** One outbox message as GET /v1/outbox answers it: never its contents. */
interface OutboxMessage {
  id: string;
  channel: string;
  template: string;
  state: 'pending' | 'sent' | 'failed';
  recipient: string | null;
  principalId: string | null;
  principalName: string | null;
  requestId: string | null;
  holdsSecret: boolean;
  attempts: number;
  createdAt: string;
  sentAt: string | null;
  failedAt: string | null;
  nextAttemptAt: string | null;
  lastError: string | null;
}

/** Messages on one page. */
const PAGE_SIZE = 50;

/** What each message template is about, for people (src/app/messages.ts). */
const KIND_WORDS: Readonly<Record<string, string>> = {
  'user.invitation': 'Invitation with setup link',
  'factor.added': 'A second factor was added',
  'factor.assigned': 'A token was assigned',
  'factor.removed': 'A second factor was removed',
  'factor.sms_code': 'Sign-in code by text message',
  'recovery_code.used': 'A recovery code was used',
  'recovery_code.regenerated': 'New recovery codes were made',
  'mfa.failures': 'Failed second-factor attempts',
  'mfa.suspended': 'Second-factor sign-in suspended',
  'mfa.suspension_lifted': 'Second-factor suspension lifted',
  'contact.verify_email': 'Confirm e-mail address',
  'contact.verify_phone': 'Confirm phone number',
  'contact.change_requested': 'Contact change requested',
  'contact.changed': 'Contact changed',
  'recovery.verify_email': 'Account recovery: confirm e-mail',
  'recovery.verify_phone': 'Account recovery: phone code',
  'recovery.pending': 'Recovery or reset pending, with cancel link',
  'reset.requested': 'MFA reset requested, with cancel link',
  'recovery.cancelled': 'Recovery or reset cancelled',
  'recovery.completed': 'Recovery or reset completed',
  'recovery.grant': 'Enrolment grant after recovery',
  'recovery.code_completed': 'Recovery with a recovery code completed',
  'password_reset.link': 'Password reset link',
  'password_reset.done': 'Password was reset',
  'webauthn.clone_suspected': 'Possible cloned security key',
  alert: 'Security alert',
};
const CHANNEL_WORDS: Readonly<Record<string, string>> = {
  email: 'E-mail',
  sms: 'Text message',
  webhook: 'Webhook',
};
const STATE_WORDS: Readonly<Record<OutboxMessage['state'], string>> = {
  pending: 'Waiting',
  sent: 'Sent',
  failed: 'Failed (given up)',
};

function stateOf(query: URLSearchParams) {
  const state = query.get('state') ?? '';
  return {
    state: ['pending', 'sent', 'failed'].includes(state) ? state : '',
    page: Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1),
  };
}

function addressOf(view: ReturnType<typeof stateOf>): string {
  const params = new URLSearchParams();
  if (view.state !== '') params.set('state', view.state);
  if (view.page !== 1) params.set('page', String(view.page));
  const text = params.toString();
  return `/admin/outbox${text === '' ? '' : `?${text}`}`;
}

/**
 * Outbox: the messages Holdfast sends (invitations, notices, alerts), newest first, one request
 * per page: recipient, kind, delivery state, attempts, next attempt and last error. Their
 * contents never reach the console: links, codes and grants stay sealed on the server.
 */
export async function render(ctx: PageContext): Promise<void> {
  const view = stateOf(ctx.query);
  const filter = h(
    'select',
    { name: 'state', id: 'outbox-state' },
    ...[
      ['', 'All'],
      ['pending', 'Waiting'],
      ['sent', 'Sent'],
      ['failed', 'Failed'],
    ].map(([value, label]) => h('option', { value: value!, selected: value === view.state }, label!)),
  );
  filter.addEventListener('change', () => ctx.navigate(addressOf({ state: filter.value, page: 1 })));
  const body = h('div', {});
  ctx.main.append(
    h('h1', {}, 'Outbox'),
    adminNav('/admin/outbox'),
    h(
      'p',
      {},
      'Messages Holdfast sends: invitations, notices to people and administrators, and alerts. Links, codes and grants inside them are never shown here; without a mail or text-message service configured, messages wait here until the host operator hands them over (holdfast outbox show).',
    ),
    h('form', { class: 'filters', role: 'search' }, field('Delivery state', filter)),
    body,
  );
  let answer: { messages: OutboxMessage[]; hasMore: boolean };
  try {
    answer = await get('/v1/outbox', {
      query: {
        ...(view.state === '' ? {} : { state: view.state }),
        limit: PAGE_SIZE,
        offset: (view.page - 1) * PAGE_SIZE,
      },
    });
  } catch (err) {
    body.append(errorLine(err));
    return;
  }
  const { messages, hasMore } = answer;
  const first = (view.page - 1) * PAGE_SIZE + 1;
  const caption =
    messages.length === 0
      ? 'No messages'
      : `Messages ${first}–${first + messages.length - 1}${view.state === '' ? '' : ` (${STATE_WORDS[view.state as OutboxMessage['state']].toLowerCase()})`}`;
  const pager = h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        disabled: view.page === 1,
        onclick: () => ctx.navigate(addressOf({ ...view, page: view.page - 1 })),
      },
      'Previous page',
    ),
    h('span', {}, `Page ${view.page}`),
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        disabled: !hasMore,
        onclick: () => ctx.navigate(addressOf({ ...view, page: view.page + 1 })),
      },
      'Next page',
    ),
  );
  body.append(
    messages.length === 0
      ? h('p', { 'data-testid': 'outbox-empty' }, 'No messages here.')
      : h(
          'table',
          { class: 'data', 'data-testid': 'outbox-table' },
          h('caption', {}, caption),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Recipient', 'Kind', 'State', 'Attempts', 'Next attempt', 'Last error', 'Queued'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...messages.map((m) =>
              h(
                'tr',
                { 'data-message': m.id },
                h(
                  'th',
                  { scope: 'row' },
                  m.recipient ?? m.principalName ?? '—',
                  m.principalName !== null && m.principalName !== m.recipient
                    ? h('span', { class: 'hint' }, ` (${m.principalName})`)
                    : null,
                ),
                h(
                  'td',
                  {},
                  KIND_WORDS[m.template] ?? m.template,
                  h('br', {}),
                  h(
                    'span',
                    { class: 'hint' },
                    `${CHANNEL_WORDS[m.channel] ?? m.channel}${m.holdsSecret ? ' · holds a link or code (sealed)' : ''}`,
                  ),
                ),
                h(
                  'td',
                  { class: m.state === 'failed' ? 'warn-cell' : null },
                  STATE_WORDS[m.state],
                  m.sentAt === null ? null : h('span', { class: 'hint' }, ` ${formatTime(m.sentAt)}`),
                ),
                h('td', {}, String(m.attempts)),
                h(
                  'td',
                  {},
                  m.state === 'pending'
                    ? m.nextAttemptAt === null
                      ? 'Now'
                      : formatTime(m.nextAttemptAt)
                    : '—',
                ),
                h('td', {}, m.lastError ?? '—'),
                h('td', {}, formatTime(m.createdAt)),
              ),
            ),
          ),
        ),
    pager,
  );
  labelTables(body);
}
