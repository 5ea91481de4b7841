// Sign in with an access key (key id and secret → a bearer token), or, in local mode,
// straight into the dev project.

import { keySignIn, localSession, localSignIn } from '../api.js';
import { field, h } from '../dom.js';
import { signedIn } from '../main.js';

// Why the server did not give the local session, from its answer.
function refusal({ status, body }) {
  if (status === 404) return 'Local sign-in is not available: this server has no local mode (the simulator is off).';
  const reason = body?.error?.message;
  return reason ? `Local sign-in refused: ${reason}.` : `Local sign-in failed (HTTP ${status}).`;
}

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
  main.append(form);
  keyId.focus();

  // The local sign-in is offered only where the server offers it: not in the production
  // profile (404), and with the server's reason where it refuses this browser (403).
  const offered = await localSession();
  if (!form.isConnected || offered.status === 404) return; // left, or no local mode
  if (offered.status !== 200) {
    main.append(h('p', { class: 'narrow muted' }, refusal(offered)));
    return;
  }
  const local = h('button', {
    type: 'button', class: 'secondary',
    onclick: async () => {
      error.textContent = '';
      const answer = await localSession();
      if (await localSignIn(answer)) { sessionStorage.removeItem('chorus.signedOut'); signedIn(); }
      else error.textContent = refusal(answer);
    },
  }, 'Use the dev project (local mode)');
  main.append(h('div', { class: 'narrow' }, local));
}
