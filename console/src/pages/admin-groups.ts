import { del, get, post, seg, call } from '../api.js';
import { ROLE_WORDS, describeAdminError, errorLine } from '../admin-words.js';
import { busy, field, h, replaceChildren, statusLine } from '../dom.js';
import type { PageContext } from '../router.js';
import type { User } from '../types.js';
import { adminNav, mapLimited } from './admin-nav.js';

/** A policy as the group and policy routes answer it. */
interface Policy {
  name: string;
  arn: string;
  scope: string;
  description: string;
  document: string;
}

/** GET /v1/groups: groups with their members' ids. */
interface Group {
  name: string;
  members: string[];
}

/**
 * Groups: create one, add and remove members (by e-mail or user name), attach and detach managed
 * policies, write and delete inline policies (linted by the server: errors refuse the document).
 */
export async function render(ctx: PageContext): Promise<void> {
  const list = h('div', { 'data-testid': 'groups' });
  const create = h('section', { 'aria-labelledby': 'new-group-title' });
  // What the last change did or why it was refused; outside the cards, which are drawn anew.
  const said = statusLine();
  ctx.main.append(
    h('h1', {}, 'Groups'),
    adminNav('/admin/groups'),
    h(
      'p',
      {},
      'A group gives its members the policies attached to it. Changing a group changes what every member may do; the guardrails still apply to each of them.',
    ),
    create,
    said.el,
    list,
  );
  const refresh = async () => {
    const [{ groups }, { policies }] = await Promise.all([
      get<{ groups: Group[] }>('/v1/groups'),
      get<{ policies: Policy[] }>('/v1/policies'),
    ]);
    const names = new Map<string, string>();
    await mapLimited([...new Set(groups.flatMap((g) => g.members))], 4, async (id) => {
      try {
        const { user } = await get<{ user: User }>(`/v1/users/${seg(id)}`);
        names.set(id, `${user.email} (${ROLE_WORDS[user.role] ?? user.role})`);
      } catch {
        names.set(id, id);
      }
    });
    const cards = await Promise.all(
      groups.map((g) => groupCard(g, { names, managed: policies, refresh, said })),
    );
    replaceChildren(list, groups.length === 0 ? h('p', {}, 'No groups yet.') : cards);
  };
  renderCreate(create, refresh, said);
  try {
    await refresh();
  } catch (err) {
    list.append(errorLine(err));
  }
}

function renderCreate(
  section: HTMLElement,
  refresh: () => Promise<void>,
  status: ReturnType<typeof statusLine>,
): void {
  const name = h('input', {
    name: 'name',
    required: true,
    maxlength: 128,
    autocomplete: 'off',
    pattern: '[\\w+=,.@-]+',
  });
  const form = h(
    'form',
    { class: 'inline-form' },
    field('Group name', name, 'Letters, digits and + = , . @ _ - (as in IAM).'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create group')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.clear();
    void busy(form, async () => {
      try {
        await post('/v1/groups', { name: name.value.trim() });
        status.info(`Group ${name.value.trim()} created.`);
        form.reset();
        await refresh();
      } catch (err) {
        status.error(describeAdminError(err));
      }
    });
  });
  section.append(h('h2', { id: 'new-group-title' }, 'Create a group'), form);
}

async function groupCard(
  group: Group,
  options: {
    names: Map<string, string>;
    managed: Policy[];
    refresh: () => Promise<void>;
    said: ReturnType<typeof statusLine>;
  },
): Promise<HTMLElement> {
  const base = `/v1/groups/${seg(group.name)}`;
  const [{ policies: attached }, { policies: inline }] = await Promise.all([
    get<{ policies: Policy[] }>(`${base}/attached-policies`),
    get<{ policies: Policy[] }>(`${base}/policies`),
  ]);
  const status = options.said;
  const titleId = `group-${group.name.replace(/[^\w-]/g, '_')}`;
  /** Runs a change, then draws every group again; errors stay on this group's card. */
  const act = (el: HTMLElement, work: () => Promise<unknown>, done: string) => {
    status.clear();
    void busy(el, async () => {
      try {
        await work();
        await options.refresh();
        status.info(done);
      } catch (err) {
        status.error(describeAdminError(err));
      }
    });
  };
  const removeButton = (label: string, accessible: string, work: () => Promise<unknown>, done: string) => {
    const button = h('button', { type: 'button', class: 'secondary', 'aria-label': accessible }, label);
    button.addEventListener('click', () => act(button, work, done));
    return button;
  };

  const member = h('input', { name: 'member', required: true, autocomplete: 'off', maxlength: 254 });
  const addMember = h(
    'form',
    { class: 'inline-form' },
    field(`Add a member to ${group.name} (e-mail or user name)`, member),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Add member')),
  );
  addMember.addEventListener('submit', (event) => {
    event.preventDefault();
    const who = member.value.trim();
    act(addMember, () => call('PUT', `${base}/members/${seg(who)}`), `${who} added.`);
  });

  const unattached = options.managed.filter((p) => !attached.some((a) => a.arn === p.arn));
  const choice = h(
    'select',
    { name: 'policyArn' },
    ...(unattached.length === 0
      ? [h('option', { value: '' }, 'No other managed policy')]
      : unattached.map((p) => h('option', { value: p.arn }, p.name))),
  );
  const attach = h(
    'form',
    { class: 'inline-form' },
    field(`Attach a managed policy to ${group.name}`, choice),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', disabled: unattached.length === 0 }, 'Attach'),
    ),
  );
  attach.addEventListener('submit', (event) => {
    event.preventDefault();
    const picked = unattached.find((p) => p.arn === choice.value);
    act(
      attach,
      () => post(`${base}/attached-policies`, { policyArn: choice.value }),
      `${picked?.name ?? 'Policy'} attached.`,
    );
  });

  const inlineName = h('input', { name: 'policyName', required: true, maxlength: 128, autocomplete: 'off' });
  const inlineDoc = h('textarea', {
    name: 'document',
    required: true,
    rows: 8,
    spellcheck: 'false',
    class: 'mono',
  });
  const putInline = h(
    'form',
    { class: 'inline-form' },
    field(`Inline policy name (${group.name})`, inlineName),
    field(
      `Inline policy document (${group.name}, JSON)`,
      inlineDoc,
      'Checked by the linter: errors refuse it.',
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save inline policy')),
  );
  putInline.addEventListener('submit', (event) => {
    event.preventDefault();
    const policyName = inlineName.value.trim();
    act(
      putInline,
      () => call('PUT', `${base}/policies/${seg(policyName)}`, { document: inlineDoc.value }),
      `Inline policy ${policyName} saved.`,
    );
  });

  return h(
    'section',
    { class: 'group', 'aria-labelledby': titleId, 'data-group': group.name },
    h('h2', { id: titleId }, group.name),
    h('h3', {}, `Members (${group.members.length})`),
    group.members.length === 0
      ? h('p', {}, 'No members.')
      : h(
          'ul',
          { class: 'plain rows' },
          ...group.members.map((id) => {
            const name = options.names.get(id) ?? id;
            return h(
              'li',
              {},
              h('span', {}, name),
              removeButton(
                'Remove',
                `Remove ${name} from ${group.name}`,
                () => del(`${base}/members/${seg(id)}`),
                `${name} removed.`,
              ),
            );
          }),
        ),
    addMember,
    h('h3', {}, `Attached policies (${attached.length})`),
    attached.length === 0
      ? h('p', {}, 'None attached.')
      : h(
          'ul',
          { class: 'plain rows' },
          ...attached.map((p) =>
            h(
              'li',
              {},
              h('span', {}, p.name),
              removeButton(
                'Detach',
                `Detach ${p.name} from ${group.name}`,
                () => del(`${base}/attached-policies/${seg(p.name)}`),
                `${p.name} detached.`,
              ),
            ),
          ),
        ),
    attach,
    h('h3', {}, `Inline policies (${inline.length})`),
    inline.length === 0
      ? h('p', {}, 'No inline policies.')
      : h(
          'ul',
          { class: 'plain rows' },
          ...inline.map((p) =>
            h(
              'li',
              {},
              h('details', {}, h('summary', {}, p.name), h('pre', {}, h('code', {}, p.document))),
              removeButton(
                'Delete',
                `Delete inline policy ${p.name} of ${group.name}`,
                () => del(`${base}/policies/${seg(p.name)}`),
                `Inline policy ${p.name} deleted.`,
              ),
            ),
          ),
        ),
    putInline,
  );
}
