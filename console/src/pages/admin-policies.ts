import { get, isApiError, post } from '../api.js';
import { busy, field, h, replaceChildren, statusLine } from '../dom.js';
import { describeError } from '../messages.js';
import type { PageContext } from '../router.js';
import type { LintFinding } from '../types.js';
import { adminNav } from './admin-nav.js';

/** A policy as GET /v1/policies lists it; only the fields the page shows are relied on. */
interface PolicySummary {
  id?: string;
  name?: string;
  description?: string | null;
  document?: unknown;
  [key: string]: unknown;
}

const NOT_OFFERED = 'This server does not offer policies yet.';

/** Policies: the account's policies, and a linter for a pasted policy document. */
export async function render(ctx: PageContext): Promise<void> {
  const list = h('section', { 'aria-labelledby': 'policies-title' });
  const lint = h('section', { 'aria-labelledby': 'lint-title' });
  ctx.main.append(h('h1', {}, 'Policies'), adminNav('/admin/policies'), list, lint);
  renderLint(lint);
  await renderList(list);
}

function policyText(document: unknown): string {
  if (typeof document === 'string') {
    try {
      return JSON.stringify(JSON.parse(document), null, 2);
    } catch {
      return document;
    }
  }
  return JSON.stringify(document, null, 2);
}

async function renderList(section: HTMLElement): Promise<void> {
  let policies: PolicySummary[];
  try {
    const answer = await get<{ policies?: PolicySummary[] } | PolicySummary[]>('/v1/policies');
    policies = Array.isArray(answer) ? answer : (answer.policies ?? []);
  } catch (err) {
    replaceChildren(
      section,
      h('h2', { id: 'policies-title' }, 'Account policies'),
      h(
        'p',
        { class: 'status warning', role: 'status' },
        isApiError(err, 'REQUEST_ROUTE_NOT_FOUND') || (isApiError(err) && err.status === 404)
          ? NOT_OFFERED
          : describeError(err),
      ),
    );
    return;
  }
  replaceChildren(
    section,
    h('h2', { id: 'policies-title' }, `Account policies (${policies.length})`),
    policies.length === 0
      ? h('p', {}, 'No policies yet.')
      : h(
          'ul',
          { class: 'policies' },
          ...policies.map((p) =>
            h(
              'li',
              {},
              h('strong', {}, String(p.name ?? p.id ?? 'policy')),
              p.description ? h('p', {}, String(p.description)) : null,
              p.document === undefined
                ? null
                : h(
                    'details',
                    {},
                    h('summary', {}, 'Document'),
                    h('pre', {}, h('code', {}, policyText(p.document))),
                  ),
            ),
          ),
        ),
  );
}

function renderLint(section: HTMLElement): void {
  const status = statusLine();
  const text = h('textarea', {
    name: 'document',
    rows: 12,
    required: true,
    spellcheck: 'false',
    class: 'mono',
  });
  const results = h('div', {});
  const form = h(
    'form',
    {},
    field(
      'Policy document (JSON)',
      text,
      'Paste an IAM-style policy; the linter flags gaps such as factor changes without MFA.',
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Lint')),
  );
  section.append(h('h2', { id: 'lint-title' }, 'Lint a policy'), form, status.el, results);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    results.replaceChildren();
    void busy(form, async () => {
      try {
        const { findings } = await post<{ findings: LintFinding[] }>('/v1/policies/lint', {
          document: text.value,
        });
        results.replaceChildren(findingsTable(findings));
      } catch (err) {
        if (isApiError(err, 'REQUEST_ROUTE_NOT_FOUND') || (isApiError(err) && err.status === 404)) {
          status.error(`${NOT_OFFERED} The document was not checked.`);
        } else {
          status.error(describeError(err));
        }
      }
    });
  });
}

function findingsTable(findings: LintFinding[]): HTMLElement {
  if (findings.length === 0) return h('p', { class: 'status success', role: 'status' }, 'No findings.');
  const errors = findings.filter((f) => f.severity === 'error').length;
  return h(
    'table',
    { class: 'data', 'data-testid': 'lint-findings' },
    h(
      'caption',
      {},
      `${errors} error${errors === 1 ? '' : 's'}, ${findings.length - errors} warning${findings.length - errors === 1 ? '' : 's'}`,
    ),
    h(
      'thead',
      {},
      h('tr', {}, ...['Severity', 'Code', 'Statement', 'Message'].map((c) => h('th', { scope: 'col' }, c))),
    ),
    h(
      'tbody',
      {},
      ...findings.map((f) =>
        h(
          'tr',
          { class: f.severity === 'error' ? 'finding-error' : 'finding-warning' },
          h('th', { scope: 'row' }, f.severity),
          h('td', {}, h('code', {}, f.code)),
          h(
            'td',
            {},
            f.sid
              ? `${f.statement ?? ''} (${f.sid})`
              : f.statement === undefined || f.statement === null
                ? '—'
                : String(f.statement),
          ),
          h('td', {}, f.message),
        ),
      ),
    ),
  );
}
