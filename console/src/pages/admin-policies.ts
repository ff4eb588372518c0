import { get, isApiError, post, seg } from '../api.js';
import { describeAdminError, errorLine } from '../admin-words.js';
import { busy, field, formatTime, h, replaceChildren, statusLine } from '../dom.js';
import type { PageContext } from '../router.js';
import type { LintFinding } from '../types.js';
import { adminNav } from './admin-nav.js';

/** A managed policy as GET /v1/policies lists it. */
interface Policy {
  name: string;
  arn: string;
  description: string;
  document: string;
  attachmentCount?: number;
  updatedAt: string;
}

/** A version as GET /v1/policies/:name/versions lists it. */
interface PolicyVersion {
  versionId: string;
  document: string;
  isDefault: boolean;
  createdAt: string;
}

const NOT_OFFERED = 'This server does not offer policies yet.';
/** How long typing pauses before the document is linted again. */
const LINT_DELAY_MS = 400;

function pretty(document: string): string {
  try {
    return JSON.stringify(JSON.parse(document), null, 2);
  } catch {
    return document;
  }
}

/**
 * Policies: the account's managed policies; create one or edit one (a new version in force)
 * with the linter running as you type; the versions, with the one in force chosen again; and
 * attaching a policy to a user or a group.
 */
export async function render(ctx: PageContext): Promise<void> {
  const list = h('section', { 'aria-labelledby': 'policies-title' });
  const editor = h('section', { 'aria-labelledby': 'editor-title' });
  const said = statusLine();
  ctx.main.append(h('h1', {}, 'Policies'), adminNav('/admin/policies'), said.el, editor, list);
  let groups: string[] = [];
  const refresh = async () => {
    let policies: Policy[];
    try {
      policies = (await get<{ policies: Policy[] }>('/v1/policies')).policies;
      groups = (await get<{ groups: Array<{ name: string }> }>('/v1/groups')).groups.map((g) => g.name);
    } catch (err) {
      replaceChildren(
        list,
        h('h2', { id: 'policies-title' }, 'Account policies'),
        h(
          'p',
          { class: 'status warning', role: 'status' },
          isApiError(err, 'REQUEST_ROUTE_NOT_FOUND') || (isApiError(err) && err.status === 404)
            ? NOT_OFFERED
            : describeAdminError(err),
        ),
      );
      return;
    }
    renderList(list, policies, { groups, said, refresh, edit: (p) => openEditor(p) });
  };
  const openEditor = (policy: Policy | null) => {
    renderEditor(editor, policy, { said, refresh, close: () => openEditor(null) });
    if (policy !== null) editor.querySelector('h2')?.focus();
  };
  openEditor(null);
  await refresh();
}

function renderEditor(
  section: HTMLElement,
  policy: Policy | null,
  options: { said: ReturnType<typeof statusLine>; refresh: () => Promise<void>; close: () => void },
): void {
  const status = statusLine();
  const name = h('input', {
    name: 'name',
    required: true,
    maxlength: 128,
    autocomplete: 'off',
    pattern: '[\\w+=,.@-]+',
    value: policy?.name ?? '',
    readonly: policy !== null,
  });
  const description = h('input', { name: 'description', maxlength: 1000, autocomplete: 'off' });
  const text = h(
    'textarea',
    { name: 'document', rows: 14, required: true, spellcheck: 'false', class: 'mono' },
    policy === null ? '' : pretty(policy.document),
  );
  const findings = h('div', { 'aria-live': 'polite', 'data-testid': 'live-lint' });
  const save = h('button', { type: 'submit' }, policy === null ? 'Create policy' : 'Save as new version');
  let errors = 0;
  let seq = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const lint = async () => {
    const mine = ++seq;
    if (text.value.trim() === '') {
      findings.replaceChildren();
      return;
    }
    try {
      const out = await post<{ findings: LintFinding[] }>('/v1/policies/lint', { document: text.value });
      if (mine !== seq) return;
      errors = out.findings.filter((f) => f.severity === 'error').length;
      findings.replaceChildren(findingsTable(out.findings));
    } catch (err) {
      if (mine !== seq) return;
      errors = 1;
      findings.replaceChildren(
        h(
          'p',
          { class: 'status error', role: 'alert' },
          isApiError(err, 'REQUEST_ROUTE_NOT_FOUND') || (isApiError(err) && err.status === 404)
            ? `${NOT_OFFERED} The document was not checked.`
            : describeAdminError(err),
        ),
      );
    }
  };
  text.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void lint(), LINT_DELAY_MS);
  });
  const form = h(
    'form',
    { 'data-testid': 'policy-editor' },
    field(
      'Policy name',
      name,
      policy === null ? 'Letters, digits and + = , . @ _ - (as in IAM).' : undefined,
    ),
    policy === null ? field('Description (optional)', description) : null,
    field(
      'Policy document (JSON)',
      text,
      'Checked as you type: errors must be fixed before saving; warnings flag gaps such as factor changes without MFA.',
    ),
    findings,
    h(
      'div',
      { class: 'actions' },
      save,
      policy === null
        ? null
        : h(
            'button',
            { type: 'button', class: 'secondary', onclick: () => options.close() },
            'Cancel editing',
          ),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    void busy(form, async () => {
      clearTimeout(timer);
      await lint();
      if (errors > 0) {
        status.error('The document has errors (listed above): fix them before saving.');
        return;
      }
      try {
        if (policy === null) {
          await post('/v1/policies', {
            name: name.value.trim(),
            document: text.value,
            ...(description.value.trim() === '' ? {} : { description: description.value.trim() }),
          });
          options.said.info(`Policy ${name.value.trim()} created.`);
        } else {
          const { version } = await post<{ version: PolicyVersion }>(
            `/v1/policies/${seg(policy.name)}/versions`,
            { document: text.value, setAsDefault: true },
          );
          options.said.info(`Policy ${policy.name} saved as version ${version.versionId}, now in force.`);
        }
        await options.refresh();
        options.close();
      } catch (err) {
        status.error(describeAdminError(err));
      }
    });
  });
  replaceChildren(
    section,
    h(
      'h2',
      { id: 'editor-title', tabindex: '-1' },
      policy === null ? 'Create a policy' : `Edit ${policy.name}`,
    ),
    policy === null
      ? null
      : h(
          'p',
          { class: 'hint' },
          'Saving adds a version that is in force at once; the earlier versions stay (at most five) and can be put back below.',
        ),
    form,
    status.el,
  );
  if (policy !== null) void lint();
}

function renderList(
  section: HTMLElement,
  policies: Policy[],
  options: {
    groups: string[];
    said: ReturnType<typeof statusLine>;
    refresh: () => Promise<void>;
    edit: (p: Policy) => void;
  },
): void {
  replaceChildren(
    section,
    h('h2', { id: 'policies-title' }, `Account policies (${policies.length})`),
    policies.length === 0
      ? h('p', {}, 'No policies yet.')
      : h('ul', { class: 'policies plain' }, ...policies.map((p) => policyItem(p, options))),
  );
}

function policyItem(
  p: Policy,
  options: {
    groups: string[];
    said: ReturnType<typeof statusLine>;
    refresh: () => Promise<void>;
    edit: (p: Policy) => void;
  },
): HTMLElement {
  const { said } = options;
  const run = (el: HTMLElement, work: () => Promise<unknown>, done: string) => {
    said.clear();
    void busy(el, async () => {
      try {
        await work();
        await options.refresh();
        said.info(done);
      } catch (err) {
        said.error(describeAdminError(err));
      }
    });
  };
  const versions = h('div', {});
  const versionsBox = h('details', {}, h('summary', {}, 'Versions'), versions);
  versionsBox.addEventListener('toggle', () => {
    if (!versionsBox.open) return;
    void (async () => {
      try {
        const list = (await get<{ versions: PolicyVersion[] }>(`/v1/policies/${seg(p.name)}/versions`))
          .versions;
        replaceChildren(
          versions,
          h(
            'ul',
            { class: 'plain rows' },
            ...list.map((v) => {
              const button = h(
                'button',
                {
                  type: 'button',
                  class: 'secondary',
                  'aria-label': `Put ${v.versionId} of ${p.name} in force`,
                },
                'Put in force',
              );
              button.addEventListener('click', () =>
                run(
                  button,
                  () => post(`/v1/policies/${seg(p.name)}/versions/${seg(v.versionId)}/default`),
                  `Version ${v.versionId} of ${p.name} is in force.`,
                ),
              );
              return h(
                'li',
                { 'data-version': v.versionId },
                h(
                  'details',
                  {},
                  h(
                    'summary',
                    {},
                    `${v.versionId}${v.isDefault ? ' (in force)' : ''} · ${formatTime(v.createdAt)}`,
                  ),
                  h('pre', {}, h('code', {}, pretty(v.document))),
                ),
                v.isDefault ? h('span', {}, 'In force') : button,
              );
            }),
          ),
        );
      } catch (err) {
        replaceChildren(versions, errorLine(err));
      }
    })();
  });

  const user = h('input', { name: 'user', required: true, maxlength: 254, autocomplete: 'off' });
  const toUser = h(
    'form',
    { class: 'inline-form' },
    field(`Attach ${p.name} to a user (e-mail or user name)`, user),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Attach to user')),
  );
  toUser.addEventListener('submit', (event) => {
    event.preventDefault();
    const who = user.value.trim();
    run(
      toUser,
      () => post(`/v1/users/${seg(who)}/attached-policies`, { policyArn: p.arn }),
      `${p.name} attached to ${who}.`,
    );
  });
  const group = h(
    'select',
    { name: 'group' },
    ...(options.groups.length === 0
      ? [h('option', { value: '' }, 'No groups yet')]
      : options.groups.map((g) => h('option', { value: g }, g))),
  );
  const toGroup = h(
    'form',
    { class: 'inline-form' },
    field(`Attach ${p.name} to a group`, group),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', disabled: options.groups.length === 0 }, 'Attach to group'),
    ),
  );
  toGroup.addEventListener('submit', (event) => {
    event.preventDefault();
    const g = group.value;
    run(
      toGroup,
      () => post(`/v1/groups/${seg(g)}/attached-policies`, { policyArn: p.arn }),
      `${p.name} attached to group ${g}.`,
    );
  });

  return h(
    'li',
    { class: 'policy', 'data-policy': p.name },
    h('h3', {}, p.name),
    p.description ? h('p', {}, p.description) : null,
    h(
      'p',
      { class: 'hint' },
      `Attached ${p.attachmentCount ?? 0} time${p.attachmentCount === 1 ? '' : 's'} · changed ${formatTime(p.updatedAt)}`,
    ),
    h('details', {}, h('summary', {}, 'Document in force'), h('pre', {}, h('code', {}, pretty(p.document)))),
    versionsBox,
    h(
      'div',
      { class: 'actions' },
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          'aria-label': `Edit ${p.name}`,
          onclick: () => options.edit(p),
        },
        'Edit',
      ),
    ),
    toUser,
    toGroup,
  );
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
          h('th', { scope: 'row', 'data-label': 'Severity' }, f.severity),
          h('td', { 'data-label': 'Code' }, h('code', {}, f.code)),
          h(
            'td',
            { 'data-label': 'Statement' },
            f.sid
              ? `${f.statement ?? ''} (${f.sid})`
              : f.statement === undefined || f.statement === null
                ? '—'
                : String(f.statement),
          ),
          h('td', { 'data-label': 'Message' }, f.message),
        ),
      ),
    ),
  );
}
