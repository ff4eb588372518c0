import { get, post, seg } from '../api.js';
import { busy, field, formatTime, h, replaceChildren, statusLine } from '../dom.js';
import { describeError } from '../messages.js';
import type { PageContext } from '../router.js';
import type { HardwareToken, User } from '../types.js';
import { adminNav } from './admin-nav.js';

/** Largest PSKC file the import route takes (16 MiB). */
const MAX_PSKC_BYTES = 16 * 1024 * 1024;

/** Hardware token inventory: PSKC import (RFC 6030), the list, and assignment to users. */
export async function render(ctx: PageContext): Promise<void> {
  const inventory = h('section', { 'aria-labelledby': 'inventory-title' });
  const assign = h('section', { 'aria-labelledby': 'assign-title' });
  const importer = h('section', { 'aria-labelledby': 'import-title' });
  ctx.main.append(h('h1', {}, 'Hardware tokens'), adminNav('/admin/tokens'), importer, assign, inventory);
  const refresh = async () => {
    const [tokens, users] = await Promise.all([loadTokens(), loadUsers()]);
    renderInventory(inventory, tokens, users);
    renderAssign(assign, tokens, users, refresh);
  };
  renderImport(importer, refresh);
  await refresh();
}

async function loadTokens(): Promise<HardwareToken[]> {
  const all: HardwareToken[] = [];
  let after: string | undefined;
  // The API pages by serial; an inventory of a few thousand tokens is a handful of calls.
  for (let page = 0; page < 20; page++) {
    const answer = await get<{ tokens: HardwareToken[]; nextAfter: string | null }>('/v1/hardware-tokens', {
      query: { after },
    });
    all.push(...answer.tokens);
    if (answer.nextAfter === null) break;
    after = answer.nextAfter;
  }
  return all;
}

async function loadUsers(): Promise<User[]> {
  try {
    return (await get<{ users: User[] }>('/v1/users')).users;
  } catch {
    return [];
  }
}

function renderImport(section: HTMLElement, refresh: () => Promise<void>): void {
  const status = statusLine();
  const file = h('input', {
    name: 'pskc',
    type: 'file',
    accept: '.pskc,.xml,application/pskc+xml,text/xml',
    required: true,
  });
  const key = h('input', {
    name: 'preSharedKey',
    type: 'password',
    autocomplete: 'off',
    maxlength: 256,
    spellcheck: 'false',
  });
  const form = h(
    'form',
    {},
    field('PSKC file', file, 'A key container file (RFC 6030) from the token vendor.'),
    field(
      'Pre-shared key (hex), for encrypted files',
      key,
      'Leave empty for files whose secrets are not encrypted.',
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Import')),
  );
  section.append(
    h('h2', { id: 'import-title' }, 'Import tokens'),
    h('p', {}, 'The import is all or nothing. Seeds are sealed at once and never shown again.'),
    form,
    status.el,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    const chosen = file.files?.[0];
    if (!chosen) {
      status.error('Choose a PSKC file first.');
      return;
    }
    if (chosen.size > MAX_PSKC_BYTES) {
      status.error('That file is larger than 16 MiB, the most one import takes.');
      return;
    }
    void busy(form, async () => {
      try {
        const pskc = await chosen.text();
        const preSharedKey = key.value.trim();
        const result = await post<{ importId: string; imported: number; serials: string[] }>(
          '/v1/hardware-tokens/import',
          { pskc, ...(preSharedKey === '' ? {} : { preSharedKey }) },
        );
        form.reset();
        status.info(
          `Imported ${result.imported} token${result.imported === 1 ? '' : 's'}${
            result.serials.length
              ? ` (${result.serials.join(', ')}${result.imported > result.serials.length ? ', …' : ''})`
              : ''
          }.`,
        );
        await refresh();
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
}

function renderAssign(
  section: HTMLElement,
  tokens: HardwareToken[],
  users: User[],
  refresh: () => Promise<void>,
): void {
  const status = statusLine();
  const free = tokens.filter((t) => t.state === 'unassigned');
  const serial = h(
    'select',
    { name: 'serial', required: true },
    ...free.map((t) =>
      h(
        'option',
        { value: t.serial },
        `${t.serial} — ${[t.manufacturer, t.model].filter(Boolean).join(' ') || t.mode}`,
      ),
    ),
  );
  const user =
    users.length > 0
      ? h(
          'select',
          { name: 'user', required: true },
          ...users.map((u) => h('option', { value: u.id }, `${u.email} (${u.username})`)),
        )
      : h('input', { name: 'user', type: 'text', required: true, maxlength: 254 });
  const name = h('input', { name: 'name', type: 'text', maxlength: 64 });
  const form = h(
    'form',
    {},
    field('Token', serial),
    field('User', user, users.length > 0 ? undefined : 'User id, e-mail or user name.'),
    field('Factor name (optional)', name, 'What the user sees; the serial number if empty.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Assign')),
  );
  replaceChildren(
    section,
    h('h2', { id: 'assign-title' }, 'Assign a token'),
    free.length === 0
      ? h('p', {}, 'No unassigned token in stock. Import some first.')
      : h(
          'div',
          {},
          h('p', {}, 'The user (or you, holding the token) then enables it with two consecutive codes.'),
          form,
        ),
    status.el,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    void busy(form, async () => {
      try {
        const chosenName = name.value.trim();
        const answer = await post<{ token: HardwareToken }>(
          `/v1/hardware-tokens/${seg(serial.value)}/assign`,
          {
            user: user.value.trim(),
            ...(chosenName === '' ? {} : { name: chosenName }),
          },
        );
        await refresh();
        // The section was redrawn; announce in the new status line.
        const fresh = section.querySelector('.status');
        if (fresh) {
          fresh.className = 'status info';
          fresh.textContent = `Token ${answer.token.serial} assigned.`;
        }
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
}

function renderInventory(section: HTMLElement, tokens: HardwareToken[], users: User[]): void {
  const byId = new Map(users.map((u) => [u.id, u]));
  replaceChildren(
    section,
    h('h2', { id: 'inventory-title' }, `Inventory (${tokens.length})`),
    tokens.length === 0
      ? h('p', {}, 'The inventory is empty.')
      : h(
          'table',
          { class: 'data', 'data-testid': 'token-inventory' },
          h('caption', { class: 'visually-hidden' }, 'Hardware token inventory'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Serial', 'Maker and model', 'Mode', 'State', 'User', 'Imported'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...tokens.map((t) => {
              const owner = t.userId === null ? null : byId.get(t.userId);
              return h(
                'tr',
                { 'data-serial': t.serial },
                h('th', { scope: 'row' }, t.serial),
                h('td', {}, [t.manufacturer, t.model].filter(Boolean).join(' ') || '—'),
                h(
                  'td',
                  {},
                  `${t.mode.toUpperCase()}, ${t.digits} digits${t.period ? `, ${t.period} s` : ''}`,
                ),
                h('td', {}, t.state),
                h(
                  'td',
                  {},
                  t.userId === null
                    ? '—'
                    : h(
                        'a',
                        { href: `/admin/users/${seg(t.userId)}`, 'data-link': true },
                        owner ? owner.email : t.userId,
                      ),
                ),
                h('td', {}, formatTime(t.importedAt)),
              );
            }),
          ),
        ),
  );
}
