import { ApiError, get, post, seg } from '../api.js';
import { busy, h, statusLine } from '../dom.js';
import { describeError } from '../messages.js';
import type { PageContext } from '../router.js';
import type { User } from '../types.js';
import { adminNav } from './admin-nav.js';

/** A user as the list answers it: with the number of enabled second factors. */
type ListedUser = User & { enabledFactors: number };

/** One page of GET /v1/users. */
interface UserPage {
  users: ListedUser[];
  total: number;
  offset: number;
  limit: number;
}

/** Users on one page of the list. */
export const PAGE_SIZE = 50;

const COLUMNS: Array<{ key: string; label: string; sort: string | null }> = [
  { key: 'email', label: 'E-mail', sort: 'email' },
  { key: 'username', label: 'User name', sort: 'username' },
  { key: 'role', label: 'Role', sort: 'role' },
  { key: 'status', label: 'Status', sort: 'status' },
  { key: 'factors', label: 'Second factors', sort: 'factors' },
  { key: 'createdAt', label: 'Created', sort: 'createdAt' },
];

const ROLE_WORDS: Readonly<Record<string, string>> = {
  owner: 'Owner',
  admin: 'Administrator',
  helpdesk: 'Help desk',
  user: 'User',
};
const STATUS_WORDS: Readonly<Record<string, string>> = { active: 'Active', disabled: 'Disabled' };

/** The list's state, read from and written to the address (so a page can be linked and reloaded). */
function stateOf(query: URLSearchParams) {
  const page = Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1);
  return {
    q: query.get('q') ?? '',
    role: query.get('role') ?? '',
    status: query.get('status') ?? '',
    factors: query.get('factors') ?? '',
    sort: query.get('sort') ?? 'email',
    order: query.get('order') === 'desc' ? 'desc' : 'asc',
    page,
  };
}
type ListState = ReturnType<typeof stateOf>;

function addressOf(state: ListState): string {
  const params = new URLSearchParams();
  if (state.q !== '') params.set('q', state.q);
  for (const key of ['role', 'status', 'factors'] as const)
    if (state[key] !== '') params.set(key, state[key]);
  if (state.sort !== 'email') params.set('sort', state.sort);
  if (state.order !== 'asc') params.set('order', state.order);
  if (state.page !== 1) params.set('page', String(state.page));
  const text = params.toString();
  return `/admin/users${text === '' ? '' : `?${text}`}`;
}

function select(name: string, value: string, options: Array<[string, string]>): HTMLSelectElement {
  const el = h('select', { name, id: `users-${name}` });
  for (const [v, label] of options) el.append(h('option', { value: v, selected: v === value }, label));
  return el;
}

/**
 * Users: server-side search, filters, sort and paging. Every change is one request for one page
 * (GET /v1/users with q, role, status, factors, sort, order, offset, limit), never one per row.
 */
export async function render(ctx: PageContext): Promise<void> {
  const state = stateOf(ctx.query);
  const go = (next: Partial<ListState>) => ctx.navigate(addressOf({ ...state, page: 1, ...next }));

  const search = h('input', {
    type: 'search',
    name: 'q',
    id: 'users-q',
    value: state.q,
    autocomplete: 'off',
    maxlength: 254,
  });
  const role = select('role', state.role, [
    ['', 'Any role'],
    ...Object.entries(ROLE_WORDS).map(([v, l]): [string, string] => [v, l]),
  ]);
  const status = select('status', state.status, [
    ['', 'Any status'],
    ['active', 'Active'],
    ['disabled', 'Disabled'],
  ]);
  const factors = select('factors', state.factors, [
    ['', 'Any number'],
    ['0', 'None (no MFA)'],
    ['1', 'Exactly one'],
    ['2+', 'Two or more'],
  ]);
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Find users' },
    h('div', { class: 'field' }, h('label', { for: search.id }, 'Search e-mail or user name'), search),
    h('div', { class: 'field' }, h('label', { for: role.id }, 'Role'), role),
    h('div', { class: 'field' }, h('label', { for: status.id }, 'Status'), status),
    h('div', { class: 'field' }, h('label', { for: factors.id }, 'Second factors'), factors),
    h('div', { class: 'actions inline' }, h('button', { type: 'submit' }, 'Search')),
  );
  const submit = () =>
    go({ q: search.value.trim(), role: role.value, status: status.value, factors: factors.value });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  for (const control of [role, status, factors]) control.addEventListener('change', submit);

  ctx.main.append(h('h1', {}, 'Users'), adminNav('/admin/users'), createForm(), importForm(), form);

  const params = new URLSearchParams({
    sort: state.sort,
    order: state.order,
    offset: String((state.page - 1) * PAGE_SIZE),
    limit: String(PAGE_SIZE),
  });
  if (state.q !== '') params.set('q', state.q);
  for (const key of ['role', 'status', 'factors'] as const)
    if (state[key] !== '') params.set(key, state[key]);
  const page = await get<UserPage>(`/v1/users?${params.toString()}`);

  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = page.offset + page.users.length;
  const summary =
    page.total === 0
      ? 'No user matches.'
      : `Users ${first}–${last} of ${page.total}${state.q || state.role || state.status || state.factors ? ' matching' : ''}`;

  const header = (c: (typeof COLUMNS)[number]) => {
    if (c.sort === null) return h('th', { scope: 'col' }, c.label);
    const active = state.sort === c.sort;
    const nextOrder = active && state.order === 'asc' ? 'desc' : 'asc';
    const button = h(
      'button',
      { type: 'button', class: 'sort', 'data-sort': c.sort },
      c.label,
      active ? (state.order === 'asc' ? ' ▲' : ' ▼') : '',
    );
    button.addEventListener('click', () => go({ sort: c.sort!, order: nextOrder }));
    return h(
      'th',
      { scope: 'col', 'aria-sort': active ? (state.order === 'asc' ? 'ascending' : 'descending') : null },
      button,
    );
  };

  const table = h(
    'table',
    { class: 'data responsive', 'data-testid': 'users-table' },
    h('caption', { 'aria-live': 'polite' }, summary),
    h('thead', {}, h('tr', {}, ...COLUMNS.map(header))),
    h(
      'tbody',
      {},
      ...page.users.map((u) =>
        h(
          'tr',
          { 'data-user-id': u.id },
          h(
            'th',
            { scope: 'row', 'data-label': 'E-mail' },
            h('a', { href: `/admin/users/${seg(u.id)}`, 'data-link': true }, u.email),
          ),
          h('td', { 'data-label': 'User name' }, u.username),
          h('td', { 'data-label': 'Role' }, ROLE_WORDS[u.role] ?? u.role),
          h('td', { 'data-label': 'Status' }, STATUS_WORDS[u.status] ?? u.status),
          h(
            'td',
            { 'data-label': 'Second factors', class: u.enabledFactors < 2 ? 'warn-cell' : null },
            u.enabledFactors === 0 ? 'None' : String(u.enabledFactors),
          ),
          h('td', { 'data-label': 'Created' }, new Date(u.createdAt).toLocaleDateString()),
        ),
      ),
    ),
  );

  const pages = Math.max(1, Math.ceil(page.total / PAGE_SIZE));
  const previous = h(
    'button',
    { type: 'button', class: 'secondary', disabled: state.page <= 1 },
    'Previous page',
  );
  const next = h(
    'button',
    { type: 'button', class: 'secondary', disabled: state.page >= pages },
    'Next page',
  );
  previous.addEventListener('click', () => ctx.navigate(addressOf({ ...state, page: state.page - 1 })));
  next.addEventListener('click', () => ctx.navigate(addressOf({ ...state, page: state.page + 1 })));
  const pager = h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages of users' },
    previous,
    h('span', {}, `Page ${Math.min(state.page, pages)} of ${pages}`),
    next,
  );
  ctx.main.append(table, pager);
}

/** Add a user: e-mail, optional user name, role, and an optional invitation e-mail with the setup link. */
function createForm(): HTMLElement {
  const email = h('input', {
    type: 'email',
    name: 'email',
    id: 'new-user-email',
    required: true,
    maxlength: 254,
  });
  const username = h('input', { type: 'text', name: 'username', id: 'new-user-name', maxlength: 64 });
  const role = select(
    'new-role',
    'user',
    Object.entries(ROLE_WORDS).map(([v, l]): [string, string] => [v, l]),
  );
  const invite = h('input', { type: 'checkbox', name: 'invite', id: 'new-user-invite', checked: true });
  const status = statusLine();
  const result = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'create-user', 'aria-labelledby': 'new-user-title' },
    h('div', { class: 'field' }, h('label', { for: email.id }, 'E-mail address'), email),
    h(
      'div',
      { class: 'field' },
      h('label', { for: username.id }, 'User name (optional)'),
      username,
      h('p', { class: 'hint' }, 'Defaults to the part of the e-mail address before the @.'),
    ),
    h('div', { class: 'field' }, h('label', { for: role.id }, 'Their role'), role),
    h(
      'div',
      { class: 'field choice' },
      invite,
      h('label', { for: invite.id }, 'E-mail them an invitation with the setup link'),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Add user')),
    status.el,
    result,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    void busy(form, async () => {
      try {
        const created = await post<{
          user: User;
          setup: { url: string; expiresAt: string };
          invited: boolean;
        }>('/v1/users', {
          email: email.value.trim(),
          ...(username.value.trim() === '' ? {} : { username: username.value.trim() }),
          role: role.value,
          invite: invite.checked,
        });
        const until = new Date(created.setup.expiresAt).toLocaleString();
        result.replaceChildren(
          h(
            'div',
            { class: 'status success', 'data-testid': 'new-user-result' },
            h(
              'p',
              {},
              created.invited
                ? `${created.user.email} was added and an invitation is on its way. `
                : `${created.user.email} was added. Give them this one-time setup link yourself. `,
              `The link works once, until ${until}.`,
            ),
            h('p', {}, h('code', { class: 'secret' }, created.setup.url)),
            h(
              'p',
              {},
              h('a', { href: `/admin/users/${seg(created.user.id)}`, 'data-link': true }, 'Open their page'),
            ),
          ),
        );
        form.reset();
        invite.checked = true;
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
  return h('details', { class: 'panel' }, h('summary', { id: 'new-user-title' }, 'Add a user'), form);
}

/**
 * Import users from a CSV file (header row naming email and role, optional username): all or
 * nothing. A file with bad rows creates nobody and every bad row is listed with its line.
 */
function importForm(): HTMLElement {
  const file = h('input', {
    type: 'file',
    name: 'csv',
    id: 'import-file',
    accept: '.csv,text/csv',
    required: true,
  });
  const invite = h('input', { type: 'checkbox', name: 'invite', id: 'import-invite', checked: true });
  const status = statusLine();
  const result = h('div', { 'aria-live': 'polite', 'data-testid': 'import-result' });
  const form = h(
    'form',
    { 'aria-labelledby': 'import-title' },
    h(
      'div',
      { class: 'field' },
      h('label', { for: file.id }, 'CSV file'),
      file,
      h(
        'p',
        { class: 'hint' },
        'First row: the column names email and role (and username if you like). One user per row. Nobody is added unless every row is right.',
      ),
    ),
    h(
      'div',
      { class: 'field choice' },
      invite,
      h('label', { for: invite.id }, 'E-mail each of them an invitation'),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Import')),
    status.el,
    result,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    result.replaceChildren();
    const chosen = file.files?.[0];
    if (chosen === undefined) return;
    void busy(form, async () => {
      try {
        const csv = await chosen.text();
        const { users } = await post<{ users: Array<{ user: User; invited: boolean }> }>('/v1/users/import', {
          csv,
          invite: invite.checked,
        });
        result.replaceChildren(
          h(
            'div',
            { class: 'status success' },
            h(
              'p',
              {},
              `${users.length} user${users.length === 1 ? '' : 's'} added${invite.checked ? ', invitations on their way' : ''}.`,
            ),
            h('ul', {}, ...users.map((u) => h('li', {}, u.user.email))),
          ),
        );
      } catch (err) {
        const rows =
          err instanceof ApiError
            ? (err.details.rows as Array<{ line: number; message: string }> | undefined)
            : undefined;
        if (rows === undefined) {
          status.error(describeError(err));
          return;
        }
        status.error(
          `Nobody was added: ${rows.length} row${rows.length === 1 ? ' needs' : 's need'} fixing.`,
        );
        result.replaceChildren(
          h('ul', { class: 'problems' }, ...rows.map((r) => h('li', {}, `Line ${r.line}: ${r.message}`))),
        );
      }
    });
  });
  return h(
    'details',
    { class: 'panel' },
    h('summary', { id: 'import-title' }, 'Import users from a CSV file'),
    form,
  );
}
