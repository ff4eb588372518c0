import { get } from '../api.js';
import { busy, field, formatTime, h, replaceChildren, statusLine } from '../dom.js';
import { describeError } from '../messages.js';
import type { PageContext } from '../router.js';
import type { AuditRecord } from '../types.js';
import { adminNav } from './admin-nav.js';

/** The audit log with the API's filters (`action`, `after`, `limit`), oldest first, paged. */
export async function render(ctx: PageContext): Promise<void> {
  const status = statusLine();
  const action = h('input', {
    name: 'action',
    type: 'text',
    maxlength: 64,
    value: ctx.query.get('action') ?? '',
    list: 'audit-actions',
  });
  const after = h('input', {
    name: 'after',
    type: 'number',
    min: 0,
    step: 1,
    value: ctx.query.get('after') ?? '',
  });
  const limit = h('input', {
    name: 'limit',
    type: 'number',
    min: 1,
    max: 1000,
    step: 1,
    value: ctx.query.get('limit') ?? '100',
  });
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Audit log filters' },
    field('Action', action, 'Exact action name, e.g. factor.remove or auth.sign_in.'),
    field('After record number', after),
    field('Records per page', limit),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Show')),
  );
  const results = h('div', {});
  ctx.main.append(
    h('h1', {}, 'Audit log'),
    adminNav('/admin/audit'),
    h(
      'datalist',
      { id: 'audit-actions' },
      ...[
        'auth.sign_in',
        'auth.mfa_sign_in',
        'auth.mfa_step_up',
        'session.step_up',
        'factor.create',
        'factor.enable',
        'factor.remove',
        'recovery_code.regenerate',
        'user.create',
        'hardware_token.import',
        'hardware_token.assign',
      ].map((a) => h('option', { value: a })),
    ),
    form,
    status.el,
    results,
  );

  const show = async (from: string) => {
    const params = {
      action: action.value.trim() || undefined,
      after: from || undefined,
      limit: limit.value || undefined,
    };
    const query = new URLSearchParams(
      Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined),
    );
    window.history.replaceState(null, '', `/admin/audit${query.size ? `?${query}` : ''}`);
    try {
      const answer = await get<{ records: AuditRecord[]; nextAfter: number | null }>('/v1/audit', {
        query: params,
      });
      renderRecords(results, answer.records, answer.nextAfter, limit.value, (next) => {
        after.value = String(next);
        void busy(form, () => show(String(next)));
      });
      status.clear();
    } catch (err) {
      status.error(describeError(err));
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(form, () => show(after.value));
  });
  await show(after.value);
}

function renderRecords(
  container: HTMLElement,
  records: AuditRecord[],
  nextAfter: number | null,
  limit: string,
  onNext: (after: number) => void,
): void {
  const full = nextAfter !== null && records.length >= Number(limit || 100);
  const next = h('button', { type: 'button', class: 'secondary' }, 'Next page');
  next.addEventListener('click', () => nextAfter !== null && onNext(nextAfter));
  replaceChildren(
    container,
    records.length === 0
      ? h('p', {}, 'No records match.')
      : h(
          'table',
          { class: 'data', 'data-testid': 'audit-records' },
          h('caption', {}, `${records.length} records`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['#', 'Time', 'Action', 'Actor', 'Target', 'Outcome', 'Source'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...records.map((r) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, String(r.seq)),
                h('td', {}, formatTime(r.eventTime)),
                h('td', {}, h('code', {}, r.eventName)),
                h(
                  'td',
                  {},
                  `${r.userIdentity.type}${r.userIdentity.principalId ? ` ${r.userIdentity.principalId}` : ''}`,
                ),
                h('td', {}, r.target ?? '—'),
                h(
                  'td',
                  { class: r.outcome === 'failure' ? 'warn-cell' : null },
                  r.errorCode ? `${r.outcome} (${r.errorCode})` : r.outcome,
                ),
                h('td', {}, r.sourceIPAddress ?? '—'),
              ),
            ),
          ),
        ),
    full ? next : null,
  );
}
