// The certificate page: the status and history are public; the content is fetched with an API key entitled
// to it (the issuing authority's, the receiving customs', an auditor's of the issuing country). The key is the
// one this tab already holds for the issuer or auditor page, or one typed here; it stays in sessionStorage.
// The issuing authority can make a QR capability link here and print it on the certificate.
import { api, keyStore } from './keys.js';

const box = document.getElementById('certificate-content');
const hash = box.dataset.targetHash;
const access = document.getElementById('content-access');
const form = document.getElementById('content-key-form');
const input = document.getElementById('content-key');
const error = document.getElementById('content-error');
const printButton = document.getElementById('print-button');
const linkButton = document.getElementById('make-link');
const viewer = keyStore('viewer');
let usedKey = null;

/** Server-rendered, autoescaped HTML as nodes (parsed inertly: no script runs). */
function nodes(html) {
  const doc = new DOMParser().parseFromString(`<div>${html}</div>`, 'text/html');
  return [...doc.body.firstElementChild.childNodes].map((n) => document.adoptNode(n));
}

function show(answer) {
  box.replaceChildren(...nodes(answer.html));
  access.hidden = true;
  printButton.hidden = false;
  linkButton.hidden = !answer.canMakeLink;
  if (answer.formD) document.getElementById('cert-layout').classList.add('cert-layout--formd');
}

async function tryKey(key) {
  try {
    show(await api(key, `/portal/api/certificates/${hash}`));
    usedKey = key;
    return true;
  } catch (e) {
    return e;
  }
}

async function start() {
  for (const store of [viewer, keyStore('issuer'), keyStore('auditor')]) {
    const key = store.get();
    if (key && (await tryKey(key)) === true) return;
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = input.value.trim();
  if (!key) return;
  error.hidden = true;
  const outcome = await tryKey(key);
  if (outcome === true) {
    viewer.set(key);
    input.value = '';
    return;
  }
  error.textContent = outcome.status === 401 ? 'This key is not valid.'
    : outcome.status === 403 ? `This key may not see this certificate's content.` : `The content could not be read: ${outcome.message}`;
  error.hidden = false;
});

linkButton.addEventListener('click', async () => {
  linkButton.disabled = true;
  try {
    const link = await api(usedKey, `/portal/api/certificates/${hash}/links`, { method: 'POST', body: {} });
    const qr = document.getElementById('qr');
    document.getElementById('qr-code').replaceChildren(...nodes(link.qr));
    const anchor = document.getElementById('qr-link');
    anchor.href = link.url;
    anchor.textContent = link.url;
    qr.hidden = false;
    const slot = document.getElementById('qr-print');
    if (slot) {
      const caption = document.createElement('p');
      caption.textContent = `Verify: ${link.url}`;
      slot.replaceChildren(...nodes(link.qrPrint), caption);
    }
    linkButton.textContent = 'Make another QR link';
  } catch (e) {
    error.textContent = `The QR link could not be made: ${e.message}`;
    error.hidden = false;
    access.hidden = false;
  } finally {
    linkButton.disabled = false;
  }
});

start();
