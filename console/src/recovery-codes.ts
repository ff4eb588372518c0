import { h } from './dom.js';

/**
 * Shows a fresh set of recovery codes, once: the server keeps only keyed hashes, so this is the
 * only time they can be read. "Download" saves a text file made in the browser (a Blob URL, so
 * the codes never travel again); "Print" prints only this block (see the print styles).
 */
export function recoveryCodesBlock(codes: string[], accountLabel: string): HTMLElement {
  const text = [
    `Holdfast recovery codes for ${accountLabel}`,
    'Each code works once. Keep them somewhere safe, away from your devices.',
    '',
    ...codes,
    '',
  ].join('\n');
  const download = h('button', { type: 'button' }, 'Download');
  download.addEventListener('click', () => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
    const a = h('a', { href: url, download: 'holdfast-recovery-codes.txt', hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
  const print = h('button', { type: 'button', class: 'secondary' }, 'Print');
  print.addEventListener('click', () => {
    document.body.classList.add('printing-codes');
    const done = () => {
      document.body.classList.remove('printing-codes');
      window.removeEventListener('afterprint', done);
    };
    window.addEventListener('afterprint', done);
    window.print();
  });
  return h(
    'section',
    { class: 'recovery-codes', 'aria-labelledby': 'recovery-codes-title' },
    h('h2', { id: 'recovery-codes-title' }, 'Your recovery codes'),
    h(
      'p',
      { class: 'status warning' },
      'These codes are shown only now. Save or print them: each one signs you in once if you lose your factors.',
    ),
    h(
      'ol',
      { class: 'codes', 'data-testid': 'recovery-codes' },
      ...codes.map((c) => h('li', {}, h('code', {}, c))),
    ),
    h('div', { class: 'actions' }, download, print),
  );
}
