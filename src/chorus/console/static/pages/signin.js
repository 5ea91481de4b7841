// Sign in with an access key (key id and secret → a bearer token), or, in local mode,
// straight into the dev project.

import { keySignIn, localSignIn } from '../api.js';
import { field, h } from '../dom.js';
import { signedIn } from '../main.js';

export async function render(main) {
  const keyId = h('input', { name: 'key_id', autocomplete: 'username', required: true });
  const secret = h('input', { name: 'key_secret', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', {
    class: 'card narrow',
    onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = '';
      try {
        await keySignIn(keyId.value.trim(), secret.value);
        sessionStorage.removeItem('chorus.signedOut');
        signedIn();
      } catch (e) {
        error.textContent = `Sign-in failed: ${e.message}`;
      }
    },
  },
  h('h1', {}, 'Sign in'),
  h('p', {}, 'Use an access key of your project (chorus project create, or the one printed by the first start).'),
  field('Key ID', keyId),
  field('Key secret', secret),
  h('button', { type: 'submit' }, 'Sign in'),
  error);
  const local = h('button', {
    type: 'button', class: 'secondary',
    onclick: async () => {
      if (await localSignIn()) { sessionStorage.removeItem('chorus.signedOut'); signedIn(); }
      else error.textContent = 'Local sign-in is not available (the simulator is off).';
    },
  }, 'Use the dev project (local mode)');
  main.append(form, h('div', { class: 'narrow' }, local));
  keyId.focus();
}
