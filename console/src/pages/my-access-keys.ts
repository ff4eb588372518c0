import { del, get, isApiError, patch, post, seg } from '../api.js';
import { busy, formatTime, h, replaceChildren, statusLine } from '../dom.js';
import { describeError } from '../messages.js';

/** An access key as GET /v1/users/:id/access-keys answers it (never its secret). */
interface AccessKey {
  accessKeyId: string;
  status: 'Active' | 'Inactive';
  createdAt: string;
  lastUsedAt: string | null;
  lastUsedService: string | null;
}

/**
 * My access keys, for the AWS-compatible API (CLI, SDKs): create one (its secret is shown once),
 * turn one off or on, delete one. Every change needs a session verified with a second factor (the
 * step-up dialog asks); at most two keys, as in AWS.
 */
export async function accessKeySection(
  section: HTMLElement,
  userId: string,
  message?: string,
  confirmed = false,
): Promise<void> {
  const status = statusLine();
  if (message !== undefined) status.info(message);
  const base = `/v1/users/${seg(userId)}/access-keys`;
  const reload = (m?: string, shown?: HTMLElement) =>
    accessKeySection(section, userId, m, true).then(() => {
      if (shown) section.append(shown);
    });
  let keys: AccessKey[];
  try {
    // Opening the page never opens the step-up dialog by itself: the person asks for it below.
    ({ keys } = await get<{ keys: AccessKey[] }>(base, { noStepUp: !confirmed }));
  } catch (err) {
    if (!isApiError(err, 'MFA_STEP_UP_REQUIRED')) throw err;
    const show = h('button', { type: 'button', class: 'secondary' }, 'Confirm it is you to see them');
    show.addEventListener(
      'click',
      () => void accessKeySection(section, userId, undefined, true).catch(() => {}),
    );
    replaceChildren(
      section,
      h('h2', { id: 'access-keys-title' }, 'Access keys'),
      h('p', {}, 'Access keys are shown and changed in a session confirmed with a second factor.'),
      h('div', { class: 'actions' }, show),
    );
    return;
  }
  const act = (button: HTMLButtonElement, work: () => Promise<unknown>, done: string) =>
    button.addEventListener(
      'click',
      () =>
        void busy(button, async () => {
          try {
            await work();
            await reload(done);
          } catch (err) {
            status.error(describeError(err));
          }
        }),
    );
  const list = h(
    'ul',
    { class: 'plain rows', 'data-testid': 'access-keys' },
    ...keys.map((k) => {
      const toggle = h(
        'button',
        { type: 'button', class: 'secondary' },
        k.status === 'Active' ? `Turn off ${k.accessKeyId}` : `Turn on ${k.accessKeyId}`,
      );
      act(
        toggle,
        () =>
          patch(`${base}/${seg(k.accessKeyId)}`, { status: k.status === 'Active' ? 'Inactive' : 'Active' }),
        k.status === 'Active'
          ? `${k.accessKeyId} is off: requests signed with it are refused.`
          : `${k.accessKeyId} is on again.`,
      );
      const remove = h('button', { type: 'button', class: 'secondary danger' }, `Delete ${k.accessKeyId}`);
      act(remove, () => del(`${base}/${seg(k.accessKeyId)}`), `${k.accessKeyId} was deleted.`);
      return h(
        'li',
        { 'data-key': k.accessKeyId },
        h('code', {}, k.accessKeyId),
        ` · ${k.status === 'Active' ? 'on' : 'off'} · made ${formatTime(k.createdAt)} · `,
        k.lastUsedAt === null ? 'never used' : `last used ${formatTime(k.lastUsedAt)}`,
        toggle,
        remove,
      );
    }),
  );
  const create = h('button', { type: 'button' }, 'Create an access key');
  create.addEventListener(
    'click',
    () =>
      void busy(create, async () => {
        try {
          const made = await post<{ accessKeyId: string; secretAccessKey: string }>(base);
          // The secret is shown this once: the server keeps it sealed and never answers it again.
          const shown = h(
            'div',
            { class: 'status success', role: 'status', 'data-testid': 'new-access-key' },
            h('p', {}, 'Your new access key. Copy the secret now: it will not be shown again.'),
            h('p', {}, 'Access key id: ', h('code', {}, made.accessKeyId)),
            h('p', {}, 'Secret access key: ', h('code', {}, made.secretAccessKey)),
          );
          await reload(undefined, shown);
        } catch (err) {
          status.error(describeError(err));
        }
      }),
  );
  replaceChildren(
    section,
    h('h2', { id: 'access-keys-title' }, 'Access keys'),
    h(
      'p',
      {},
      'For the AWS command line and SDKs. Use temporary credentials with your second factor where you can; a key is a long-lived secret.',
    ),
    keys.length === 0 ? h('p', {}, 'You have no access key.') : list,
    keys.length < 2
      ? h('div', { class: 'actions' }, create)
      : h('p', {}, 'You have the most keys allowed (2).'),
    status.el,
  );
}
