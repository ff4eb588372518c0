import { del, get, post, seg } from '../api.js';
import { busy, field, formatTime, h, replaceChildren, statusLine } from '../dom.js';
import { describeError } from '../messages.js';
import type { PageContext } from '../router.js';
import { adminNav } from './admin-nav.js';

/** An OpenID Connect client as the API lists it (never its secret). */
interface OidcClient {
  clientId: string;
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  public: boolean;
  minimumAssurance: string | null;
  createdAt: string;
}

/** Least assurance levels a client may require (docs/oidc.md). */
const MINIMUMS: Array<[string, string]> = [
  ['', 'Any second factor'],
  ['software_otp', 'Authenticator app or stronger'],
  ['hardware_otp', 'Hardware token or stronger'],
  ['phishing_resistant', 'Passkey or security key (phishing resistant)'],
  ['device_bound_key', 'Device-bound security key'],
  ['attested_hardware_key', 'Attested hardware key'],
];

/** Applications that sign their users in through Holdfast (OpenID Connect clients of the account). */
export async function render(ctx: PageContext): Promise<void> {
  const list = h('section', { 'aria-labelledby': 'apps-title' });
  const create = h('section', { 'aria-labelledby': 'new-app-title' });
  ctx.main.append(h('h1', {}, 'Applications'), adminNav('/admin/applications'), create, list);
  const refresh = async () => {
    const { clients } = await get<{ clients: OidcClient[] }>('/v1/oidc/clients');
    renderList(list, clients, refresh);
  };
  renderCreate(create, refresh);
  await refresh();
}

function renderCreate(section: HTMLElement, refresh: () => Promise<void>): void {
  const status = statusLine();
  const shown = h('div', { 'data-testid': 'new-client' });
  const name = h('input', { name: 'name', required: true, maxlength: 128, autocomplete: 'off' });
  const uris = h('textarea', { name: 'redirectUris', required: true, rows: 3, spellcheck: 'false' });
  const logout = h('textarea', { name: 'postLogoutRedirectUris', rows: 2, spellcheck: 'false' });
  const isPublic = h('input', { name: 'public', type: 'checkbox' });
  const minimum = h(
    'select',
    { name: 'minimumAssurance' },
    ...MINIMUMS.map(([value, label]) => h('option', { value }, label)),
  );
  const lines = (text: string) =>
    text
      .split(/\s+/)
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
  const form = h(
    'form',
    {},
    field('Name', name, 'Shown to users when they consent.'),
    field('Redirect URIs', uris, 'One a line, matched exactly: https, or http on localhost.'),
    field('Addresses to return to after logout', logout, 'Optional, one a line.'),
    h('div', { class: 'field' }, h('label', {}, isPublic, ' Public client (no secret; PKCE required)')),
    field('Least assurance of every sign-in', minimum),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Register application')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    void busy(form, async () => {
      try {
        const created = await post<{ client: OidcClient; clientSecret: string | null }>('/v1/oidc/clients', {
          name: name.value,
          redirectUris: lines(uris.value),
          postLogoutRedirectUris: lines(logout.value),
          public: isPublic.checked,
          ...(minimum.value === '' ? {} : { minimumAssurance: minimum.value }),
        });
        replaceChildren(
          shown,
          h('p', {}, 'Client id: ', h('code', { 'data-testid': 'client-id' }, created.client.clientId)),
          created.clientSecret === null
            ? h('p', {}, 'A public client has no secret.')
            : h(
                'p',
                {},
                'Client secret (shown once, copy it now): ',
                h('code', { 'data-testid': 'client-secret' }, created.clientSecret),
              ),
        );
        form.reset();
        await refresh();
      } catch (err) {
        status.error(describeError(err));
      }
    });
  });
  section.append(h('h2', { id: 'new-app-title' }, 'Register an application'), form, status.el, shown);
}

function renderList(section: HTMLElement, clients: OidcClient[], refresh: () => Promise<void>): void {
  const status = statusLine();
  const rows = clients.map((c) => {
    const remove = h('button', { type: 'button', class: 'secondary' }, 'Delete');
    remove.addEventListener('click', () => {
      if (!window.confirm(`Delete ${c.name}? Its users are signed out of it.`)) return;
      void busy(remove, async () => {
        try {
          await del(`/v1/oidc/clients/${seg(c.clientId)}`);
          await refresh();
        } catch (err) {
          status.error(describeError(err));
        }
      });
    });
    return h(
      'tr',
      {},
      h('td', {}, c.name),
      h('td', {}, h('code', {}, c.clientId)),
      h('td', {}, c.public ? 'public' : 'confidential'),
      h('td', {}, c.redirectUris.join(' ')),
      h('td', {}, c.minimumAssurance ?? 'any second factor'),
      h('td', {}, formatTime(c.createdAt)),
      h('td', {}, remove),
    );
  });
  replaceChildren(
    section,
    h('h2', { id: 'apps-title' }, 'Registered applications'),
    clients.length === 0
      ? h('p', {}, 'No application signs in through Holdfast yet. See docs/oidc.md.')
      : h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Name', 'Client id', 'Kind', 'Redirect URIs', 'Least assurance', 'Registered', ''].map(
                (t) => h('th', { scope: 'col' }, t),
              ),
            ),
          ),
          h('tbody', {}, ...rows),
        ),
    status.el,
  );
}
