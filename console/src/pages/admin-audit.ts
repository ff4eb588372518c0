import { ApiError, get } from '../api.js';
import { busy, formatTime, h, replaceChildren, statusLine } from '../dom.js';
import { describeError } from '../messages.js';
import type { PageContext } from '../router.js';
import type { AuditRecord } from '../types.js';
import { detailsToggle, eventWords } from '../words.js';
import { adminNav } from './admin-nav.js';

/** A record as GET /v1/audit answers it for the console: with the people named. */
type NamedRecord = AuditRecord & {
  actorName: string | null;
  targetName: string | null;
  prevHash: string | null;
  hash: string | null;
  userAgent?: string | null;
  accountId?: string | null;
};

/** One page of GET /v1/audit, newest first. */
interface AuditPage {
  records: NamedRecord[];
  nextBefore: number | null;
  more: boolean;
}

/** Records on one page. */
export const PAGE_SIZE = 50;

/** Events an administrator looks for most, in words, for the event filter (the code is the value). */
const COMMON_EVENTS = [
  'auth.sign_in',
  'auth.mfa_sign_in',
  'auth.passkey_sign_in',
  'auth.mfa_step_up',
  'authz.denied',
  'user.create',
  'user.disable',
  'user.enable',
  'user.role_change',
  'user.setup_link_issue',
  'session.revoke_all',
  'factor.create',
  'factor.enable',
  'factor.remove',
  'recovery_code.regenerate',
  'recovery_code.use',
  'mfa.suspend',
  'mfa.suspension_lift',
  'recovery.start',
  'recovery.complete',
  'reset.request',
  'reset.approve',
  'reset.cancel',
  'enrolment_grant.issue',
  'access_key.create',
  'access_key.delete',
  'hardware_token.import',
  'hardware_token.assign',
  'policy.put',
  'policy.attach',
  'policy.detach',
  'account.settings',
  'alert.acknowledge',
];

/** Who acted, in words: a person by e-mail address, else what kind of actor it was. */
function actorWords(r: NamedRecord): string {
  if (r.actorName !== null) return r.actorName;
  switch (r.userIdentity.type) {
    case 'operator':
      return 'Host operator (holdfast command line)';
    case 'system':
      return 'Holdfast itself';
    case 'anonymous':
      return 'Someone not signed in';
    default:
      return r.userIdentity.principalId ?? 'Unknown';
  }
}

/** The filters and the page, read from and written to the address (a view can be bookmarked). */
function stateOf(query: URLSearchParams) {
  const before = Number.parseInt(query.get('before') ?? '', 10);
  return {
    actor: query.get('actor') ?? '',
    target: query.get('target') ?? '',
    action: query.get('action') ?? '',
    outcome: query.get('outcome') ?? '',
    from: query.get('from') ?? '',
    to: query.get('to') ?? '',
    before: Number.isInteger(before) && before > 0 ? before : null,
  };
}
type ViewState = ReturnType<typeof stateOf>;
const FILTER_KEYS = ['actor', 'target', 'action', 'outcome', 'from', 'to'] as const;

function addressOf(state: ViewState): string {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) if (state[key] !== '') params.set(key, state[key]);
  if (state.before !== null) params.set('before', String(state.before));
  const text = params.toString();
  return `/admin/audit${text === '' ? '' : `?${text}`}`;
}

/** A local date and time from the form (`datetime-local`) as the ISO time the API takes. */
function isoOf(local: string): string | undefined {
  if (local === '') return undefined;
  const ms = new Date(local).getTime();
  return Number.isNaN(ms) ? local : new Date(ms).toISOString();
}

/** The API's filter parameters of a view (empty ones left out). */
function filterParams(state: ViewState): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of ['actor', 'target', 'action', 'outcome'] as const)
    if (state[key] !== '') params.set(key, state[key]);
  const from = isoOf(state.from);
  const to = isoOf(state.to);
  if (from !== undefined) params.set('from', from);
  if (to !== undefined) params.set('to', to);
  return params;
}

function select(name: string, label: string, value: string, options: Array<[string, string]>) {
  const el = h('select', { name, id: `audit-${name}` });
  for (const [v, text] of options) el.append(h('option', { value: v, selected: v === value }, text));
  return { el, field: h('div', { class: 'field' }, h('label', { for: el.id }, label), el) };
}

function input(name: string, label: string, value: string, props: Record<string, string | number>) {
  const el = h('input', { name, id: `audit-${name}`, value, ...props });
  return { el, field: h('div', { class: 'field' }, h('label', { for: el.id }, label), el) };
}

/**
 * The audit log, newest first: filters by who acted, on whom or what, which event, how it ended
 * and when, all decided by the server; one request per page (GET /v1/audit with `order=desc`
 * and `before`), the people named beside their ids; a detail view of each record; and a download
 * of the filtered view as JSON lines or a CloudTrail log file.
 */
export async function render(ctx: PageContext): Promise<void> {
  const state = stateOf(ctx.query);
  const actor = input('actor', 'Who acted', state.actor, {
    type: 'text',
    maxlength: 254,
    autocomplete: 'off',
    placeholder: 'E-mail or id',
  });
  const target = input('target', 'Done to', state.target, {
    type: 'text',
    maxlength: 254,
    autocomplete: 'off',
    placeholder: 'E-mail or id',
  });
  const known = new Set(COMMON_EVENTS);
  const action = select('action', 'Event', state.action, [
    ['', 'Any event'],
    ...COMMON_EVENTS.map((code): [string, string] => [code, eventWords(code)]).sort((a, b) =>
      a[1].localeCompare(b[1]),
    ),
    ...(state.action !== '' && !known.has(state.action)
      ? [[state.action, eventWords(state.action)] as [string, string]]
      : []),
  ]);
  const outcome = select('outcome', 'Outcome', state.outcome, [
    ['', 'Any outcome'],
    ['success', 'Succeeded'],
    ['failure', 'Refused or failed'],
  ]);
  const from = input('from', 'From', state.from, { type: 'datetime-local' });
  const to = input('to', 'Until', state.to, { type: 'datetime-local' });
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Audit log filters' },
    actor.field,
    target.field,
    action.field,
    outcome.field,
    from.field,
    to.field,
    h('div', { class: 'actions inline' }, h('button', { type: 'submit' }, 'Show')),
  );
  const submit = () =>
    ctx.navigate(
      addressOf({
        actor: actor.el.value.trim(),
        target: target.el.value.trim(),
        action: action.el.value,
        outcome: outcome.el.value,
        from: from.el.value,
        to: to.el.value,
        before: null,
      }),
    );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  for (const control of [action.el, outcome.el]) control.addEventListener('change', submit);

  const status = statusLine();
  ctx.main.append(
    h('h1', {}, 'Audit log'),
    adminNav('/admin/audit'),
    form,
    exportBar(state, status),
    status.el,
  );

  const params = filterParams(state);
  params.set('order', 'desc');
  params.set('limit', String(PAGE_SIZE));
  if (state.before !== null) params.set('before', String(state.before));
  let page: AuditPage;
  try {
    page = await get<AuditPage>(`/v1/audit?${params.toString()}`);
  } catch (err) {
    status.error(describeError(err));
    return;
  }

  const filtered = FILTER_KEYS.some((k) => state[k] !== '');
  const summary =
    page.records.length === 0
      ? filtered
        ? 'No record matches these filters.'
        : 'No records yet.'
      : `${page.records.length} record${page.records.length === 1 ? '' : 's'}, newest first${
          state.before === null ? '' : ` (older than #${state.before})`
        }${filtered ? ', filtered' : ''}`;

  const dialog = detailDialog();
  const table = h(
    'table',
    { class: 'data responsive', 'data-testid': 'audit-records' },
    h('caption', { 'aria-live': 'polite' }, summary),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Time', 'Event', 'Who acted', 'Done to', 'Outcome', 'Record'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...page.records.map((r) => {
        const open = h('button', { type: 'button', class: 'link-button' }, `Open record #${r.seq}`);
        open.addEventListener('click', () => dialog.show(r));
        return h(
          'tr',
          { 'data-seq': String(r.seq) },
          h('th', { scope: 'row', 'data-label': 'Time' }, formatTime(r.eventTime)),
          h(
            'td',
            { 'data-label': 'Event' },
            eventWords(r.eventName),
            detailsToggle([`Event ${r.eventName}`]),
          ),
          h(
            'td',
            { 'data-label': 'Who acted' },
            person(actorWords(r), r.actorName === null ? null : r.userIdentity.principalId),
          ),
          h(
            'td',
            { 'data-label': 'Done to' },
            r.target === null
              ? '—'
              : person(r.targetName ?? r.target, r.targetName === null ? null : r.target),
          ),
          h(
            'td',
            { 'data-label': 'Outcome', class: r.outcome === 'failure' ? 'warn-cell' : null },
            r.outcome === 'failure' ? 'Refused or failed' : 'Succeeded',
          ),
          h('td', { 'data-label': 'Record' }, open),
        );
      }),
    ),
  );

  const newest = h(
    'button',
    { type: 'button', class: 'secondary', disabled: state.before === null },
    'Newest records',
  );
  const older = h(
    'button',
    { type: 'button', class: 'secondary', disabled: page.nextBefore === null },
    'Older records',
  );
  newest.addEventListener('click', () => ctx.navigate(addressOf({ ...state, before: null })));
  older.addEventListener('click', () => {
    if (page.nextBefore !== null) ctx.navigate(addressOf({ ...state, before: page.nextBefore }));
  });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of the audit log' }, newest, older);
  ctx.main.append(table, pager, dialog.el);
}

/** A person's name with their id beside it (smaller), or just the words when there is no id. */
function person(name: string, id: string | null): HTMLElement {
  return h('span', { class: 'person' }, name, id === null ? null : h('span', { class: 'id' }, id));
}

/** Download buttons for the filtered view: JSON lines, or a CloudTrail log file. */
function exportBar(state: ViewState, status: ReturnType<typeof statusLine>): HTMLElement {
  const bar = h('div', { class: 'actions export', role: 'group', 'aria-label': 'Download this view' });
  const button = (format: 'jsonl' | 'cloudtrail', label: string) => {
    const b = h('button', { type: 'button', class: 'secondary', 'data-format': format }, label);
    b.addEventListener('click', () => {
      status.clear();
      void busy(bar, async () => {
        try {
          await download(format, filterParams(state));
          status.info('Download ready: every record of this view, oldest first.');
        } catch (err) {
          status.error(describeError(err));
        }
      });
    });
    return b;
  };
  bar.append(button('jsonl', 'Download as JSON lines'), button('cloudtrail', 'Download as CloudTrail JSON'));
  return bar;
}

/** Fetches the export and hands it to the browser as a file (the session cookie goes along). */
async function download(format: 'jsonl' | 'cloudtrail', params: URLSearchParams): Promise<void> {
  params.set('format', format);
  const res = await fetch(`/v1/audit/export?${params.toString()}`, {
    credentials: 'same-origin',
    headers: { accept: format === 'jsonl' ? 'application/x-ndjson' : 'application/json' },
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as {
      error?: { code?: string; message?: string; requestId?: string };
    } | null;
    throw new ApiError({
      code: body?.error?.code ?? `HTTP_${res.status}`,
      status: res.status,
      message: body?.error?.message ?? res.statusText,
      requestId: body?.error?.requestId ?? null,
    });
  }
  const blob = await res.blob();
  const disposition = res.headers.get('content-disposition') ?? '';
  const name =
    /filename="([^"]+)"/.exec(disposition)?.[1] ??
    (format === 'jsonl' ? 'holdfast-audit.jsonl' : 'holdfast-audit.cloudtrail.json');
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: name, class: 'visually-hidden' }, name);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** One record in full: every field, the hash-chain links and the request id, in a modal dialog. */
function detailDialog(): { el: HTMLDialogElement; show(r: NamedRecord): void } {
  const title = h('h2', { id: 'audit-detail-title' });
  const body = h('div', {});
  const close = h('button', { type: 'button' }, 'Close');
  const el = h(
    'dialog',
    { class: 'record-detail', 'aria-labelledby': title.id, 'data-testid': 'audit-detail' },
    title,
    body,
    h('div', { class: 'actions' }, close),
  );
  close.addEventListener('click', () => el.close());
  return {
    el,
    show(r) {
      title.textContent = `Record #${r.seq}: ${eventWords(r.eventName)}`;
      const details = r.details ?? {};
      const requestId = typeof details.requestId === 'string' ? details.requestId : null;
      const rest = Object.entries(details).filter(([k]) => k !== 'requestId');
      const row = (label: string, value: string | null | undefined, code = false) =>
        value === null || value === undefined || value === ''
          ? null
          : [h('dt', {}, label), h('dd', {}, code ? h('code', {}, value) : value)];
      replaceChildren(
        body,
        h(
          'dl',
          { class: 'record-fields' },
          row('Time', formatTime(r.eventTime)),
          row('Event', eventWords(r.eventName)),
          row('Event code', r.eventName, true),
          row('Outcome', r.outcome === 'failure' ? 'Refused or failed' : 'Succeeded'),
          row('Error code', r.errorCode, true),
          row('Who acted', actorWords(r)),
          row('Actor kind', r.userIdentity.type),
          row('Actor id', r.userIdentity.principalId, true),
          row('Done to', r.targetName),
          row('Target id', r.target, true),
          row('Request id', requestId, true),
          row('Source address', r.sourceIPAddress, true),
          row('Browser or client', r.userAgent ?? null),
          row('Record number', String(r.seq)),
          row('Event id', r.eventId, true),
          row('Hash of the previous record', r.prevHash, true),
          row('Hash of this record', r.hash, true),
        ),
        rest.length === 0
          ? null
          : h(
              'details',
              { class: 'record-extra' },
              h('summary', {}, 'Everything else recorded'),
              h(
                'dl',
                { class: 'record-fields' },
                ...rest.map(([k, v]) => [
                  h('dt', {}, k),
                  h('dd', {}, h('code', {}, typeof v === 'string' ? v : JSON.stringify(v))),
                ]),
              ),
            ),
      );
      el.showModal();
    },
  };
}
