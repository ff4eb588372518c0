import { get, post, seg } from '../api.js';
import { busy, formatTime, h, statusLine } from '../dom.js';
import { describeError } from '../messages.js';
import type { PageContext } from '../router.js';
import { detailsToggle } from '../words.js';
import { adminNav } from './admin-nav.js';

/** An alert as GET /v1/alerts answers it. */
export interface AlertView {
  id: string;
  ruleId: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  summary: string;
  principalId: string | null;
  principalName: string | null;
  eventId: string;
  createdAt: string;
  state: 'open' | 'acknowledged';
  acknowledged: { at: string; by: string; byName: string | null; note: string } | null;
}

/** Most alerts one page shows (the API's limit). */
const LIMIT = 200;
/** Longest acknowledgement note (the server refuses more with ALERT_NOTE_INVALID). */
const MAX_NOTE = 500;

/** The kinds of alert (detection rules, docs/alerts.md) in words. */
export const ALERT_KIND_WORDS: Readonly<Record<string, string>> = {
  'HF-ENROL-FAIL': 'Refused attempt to add a second factor',
  'HF-FACTOR-REMOVED': 'Second factor removed',
  'HF-RECOVERY': 'Account recovery',
  'HF-RECOVERY-CODE': 'Recovery code used to sign in',
  'HF-RESET': 'Help-desk reset of a second factor',
  'HF-MFA-BRUTE-FORCE': 'Many wrong second-factor codes',
  'HF-SIGN-IN-AFTER-SUSPENSION': 'Sign-in soon after a suspension',
  'HF-POLICY-MFA-REMOVED': 'A policy stopped requiring a second factor',
  'HF-WEAK-FACTOR-ALLOWED': 'Text-message codes allowed',
  'HF-SINGLE-ADMIN': 'Only one administrator left',
  'HF-ADMIN-WITHOUT-MFA': 'Administrator without a second factor',
};

const SEVERITY_WORDS: Readonly<Record<string, string>> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
};

function kindWords(ruleId: string): string {
  return ALERT_KIND_WORDS[ruleId] ?? ruleId;
}

function stateOf(query: URLSearchParams) {
  return {
    severity: query.get('severity') ?? '',
    rule: query.get('rule') ?? '',
    state: query.get('state') ?? '',
  };
}
type ViewState = ReturnType<typeof stateOf>;

function addressOf(state: ViewState): string {
  const params = new URLSearchParams();
  for (const key of ['severity', 'rule', 'state'] as const)
    if (state[key] !== '') params.set(key, state[key]);
  const text = params.toString();
  return `/admin/alerts${text === '' ? '' : `?${text}`}`;
}

function select(name: string, label: string, value: string, options: Array<[string, string]>) {
  const el = h('select', { name, id: `alerts-${name}` });
  for (const [v, text] of options) el.append(h('option', { value: v, selected: v === value }, text));
  return { el, field: h('div', { class: 'field' }, h('label', { for: el.id }, label), el) };
}

/**
 * Alerts: what the detection rules raised, newest first, filtered on the server by severity,
 * kind and whether someone has acknowledged them; the people concerned named; acknowledge
 * with a note (POST /v1/alerts/:id/acknowledge, audited).
 */
export async function render(ctx: PageContext): Promise<void> {
  const state = stateOf(ctx.query);
  const severity = select('severity', 'Severity', state.severity, [
    ['', 'Any severity'],
    ...Object.entries(SEVERITY_WORDS).map(([v, l]): [string, string] => [v, l]),
  ]);
  const rule = select('rule', 'Kind', state.rule, [
    ['', 'Any kind'],
    ...Object.entries(ALERT_KIND_WORDS)
      .map(([v, l]): [string, string] => [v, l])
      .sort((a, b) => a[1].localeCompare(b[1])),
  ]);
  const status = select('state', 'Status', state.state, [
    ['', 'Open and acknowledged'],
    ['open', 'Open'],
    ['acknowledged', 'Acknowledged'],
  ]);
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Alert filters' },
    severity.field,
    rule.field,
    status.field,
  );
  const submit = () =>
    ctx.navigate(addressOf({ severity: severity.el.value, rule: rule.el.value, state: status.el.value }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  for (const control of [severity.el, rule.el, status.el]) control.addEventListener('change', submit);
  const line = statusLine();
  ctx.main.append(h('h1', {}, 'Alerts'), adminNav('/admin/alerts'), form, line.el);

  const params = new URLSearchParams({ limit: String(LIMIT) });
  if (state.severity !== '') params.set('severity', state.severity);
  if (state.rule !== '') params.set('rule', state.rule);
  if (state.state !== '') params.set('state', state.state);
  let alerts: AlertView[];
  try {
    ({ alerts } = await get<{ alerts: AlertView[] }>(`/v1/alerts?${params.toString()}`));
  } catch (err) {
    line.error(describeError(err));
    return;
  }

  const filtered = state.severity !== '' || state.rule !== '' || state.state !== '';
  const open = alerts.filter((a) => a.state === 'open').length;
  const caption =
    alerts.length === 0
      ? filtered
        ? 'No alert matches these filters.'
        : 'No alerts. Holdfast raises one when its detection rules see something to look at.'
      : `${alerts.length} alert${alerts.length === 1 ? '' : 's'}, newest first; ${open} open`;

  const dialog = acknowledgeDialog((updated) => {
    const row = ctx.main.querySelector<HTMLTableRowElement>(`tr[data-alert-id="${CSS.escape(updated.id)}"]`);
    row?.replaceWith(alertRow(updated, dialog.open));
    line.info(`Acknowledged: ${kindWords(updated.ruleId)}.`);
  });
  const table = h(
    'table',
    { class: 'data responsive', 'data-testid': 'alerts-table' },
    h('caption', { 'aria-live': 'polite' }, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Raised', 'Kind', 'Severity', 'Person concerned', 'Status', 'Action'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h('tbody', {}, ...alerts.map((a) => alertRow(a, dialog.open))),
  );
  ctx.main.append(table, dialog.el);
}

/** One alert as a table row (a labelled list item on narrow screens). */
function alertRow(a: AlertView, acknowledge: (a: AlertView) => void): HTMLTableRowElement {
  const button =
    a.state === 'open' ? h('button', { type: 'button', class: 'secondary' }, 'Acknowledge') : null;
  button?.addEventListener('click', () => acknowledge(a));
  if (button !== null)
    button.setAttribute('aria-label', `Acknowledge: ${kindWords(a.ruleId)}, ${formatTime(a.createdAt)}`);
  return h(
    'tr',
    { 'data-alert-id': a.id, class: a.state },
    h('th', { scope: 'row', 'data-label': 'Raised' }, formatTime(a.createdAt)),
    h(
      'td',
      { 'data-label': 'Kind' },
      kindWords(a.ruleId),
      detailsToggle([`Rule ${a.ruleId}`, a.summary, `Event ${a.eventId}`, `Alert ${a.id}`]),
    ),
    h(
      'td',
      {
        'data-label': 'Severity',
        class: a.severity === 'high' || a.severity === 'critical' ? 'warn-cell' : null,
      },
      SEVERITY_WORDS[a.severity] ?? a.severity,
    ),
    h(
      'td',
      { 'data-label': 'Person concerned' },
      a.principalName ?? (a.principalId === null ? '—' : a.principalId),
    ),
    h(
      'td',
      { 'data-label': 'Status' },
      a.acknowledged === null
        ? 'Open'
        : h(
            'span',
            { class: 'acknowledged' },
            `Acknowledged by ${a.acknowledged.byName ?? a.acknowledged.by}, ${formatTime(a.acknowledged.at)}`,
            a.acknowledged.note === '' ? null : h('q', { class: 'note' }, a.acknowledged.note),
          ),
    ),
    h('td', { 'data-label': 'Action' }, button ?? '—'),
  );
}

/** The acknowledge dialog: the alert in words, a note, and the server's answer. */
function acknowledgeDialog(done: (updated: AlertView) => void): {
  el: HTMLDialogElement;
  open(a: AlertView): void;
} {
  const title = h('h2', { id: 'ack-title' }, 'Acknowledge the alert');
  const about = h('p', {});
  const note = h('textarea', { id: 'ack-note', name: 'note', rows: 4, maxlength: MAX_NOTE });
  const status = statusLine();
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const form = h(
    'form',
    { method: 'dialog' },
    about,
    h(
      'div',
      { class: 'field' },
      h('label', { for: note.id }, 'Note (what you found or did)'),
      note,
      h(
        'p',
        { class: 'hint', id: 'ack-note-hint' },
        `At most ${MAX_NOTE} characters. It goes into the audit log.`,
      ),
    ),
    status.el,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Acknowledge'), cancel),
  );
  note.setAttribute('aria-describedby', 'ack-note-hint');
  const el = h(
    'dialog',
    { class: 'step-up', 'aria-labelledby': title.id, 'data-testid': 'ack-dialog' },
    title,
    form,
  );
  let current: AlertView | null = null;
  cancel.addEventListener('click', () => el.close());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const alert = current;
    if (alert === null) return;
    status.clear();
    void busy(form, async () => {
      try {
        const answer = await post<{ alert: AlertView }>(`/v1/alerts/${seg(alert.id)}/acknowledge`, {
          note: note.value,
        });
        el.close();
        done(answer.alert);
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
  return {
    el,
    open(a) {
      current = a;
      about.textContent = `${kindWords(a.ruleId)}${a.principalName === null ? '' : ` (${a.principalName})`}, raised ${formatTime(a.createdAt)}.`;
      note.value = '';
      status.clear();
      el.showModal();
      note.focus();
    },
  };
}
