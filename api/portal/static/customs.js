// The customs panel of a certificate page: its decisions and retroactive checks for whoever is entitled (the
// importing customs, the issuing authority or its country's admins, their auditors), with the forms each may use.
import { api, el, keyStore, utc } from './keys.js';

const panel = document.getElementById('customs-panel');
const targetHash = panel?.dataset.targetHash;
const store = keyStore('checks'); // the same key as the checks page
let key = null;
let who = null;

const $ = (id) => document.getElementById(id);
const words = (code) => (code || '').replaceAll('_', ' ').toLowerCase();

function say(message, tone = '') {
  $('customs-status').textContent = message;
  $('customs-status').className = `status-line${tone ? ` tone-${tone}` : ''}`;
}

function renderDecisions(decisions) {
  $('decisions').replaceChildren(...decisions.map((d) => el('li', { class: 'decision', dataset: { version: d.version } },
    el('strong', {}, d.preference === 'GIVEN' ? 'Preference given' : 'Preference not given'),
    d.reason && d.reason !== 'NONE' ? ` – ${words(d.reason)}` : '',
    ` (version ${d.version}, ${utc(d.at)}, customs of ${d.certificate.importingCountry})`,
    d.note ? el('p', { class: 'decision__note' }, d.note) : '')));
  $('decisions-empty').hidden = decisions.length > 0;
}

function renderChecks(checks) {
  $('panel-checks').replaceChildren(...checks.map((c) => {
    const req = c.request || {};
    const f = c.findings || {};
    return el('article', { class: 'panel-check', dataset: { check: c.id, state: c.state } },
      el('p', {}, el('strong', {}, `Check ${c.id}: ${c.overdue ? 'overdue' : c.state.toLowerCase()}`),
        ` – asked ${utc(c.openedAt)} (${words(c.reason)}), answer due ${utc(c.dueAt)}`),
      req.questions ? el('ol', { class: 'questions' }, ...req.questions.map((q) => el('li', {}, q))) : '',
      c.result ? el('p', { class: 'panel-check__answer' }, `Answer: ${words(c.result)}`, c.late ? ' (late)' : '',
        c.revoked ? ', the certificate revoked' : '', f.findings ? ` – ${f.findings}` : '') : '',
      c.state === 'ANSWERED' && who.role === 'customs'
        ? el('button', { type: 'button', class: 'button button-small button-secondary', id: `close-${c.id}`,
          onclick: () => act(`/v1/checks/${c.id}/close`, undefined, `Check ${c.id} closed.`) }, 'Close the check') : '');
  }));
  $('panel-checks-empty').hidden = checks.length > 0;
  const open = checks.find((c) => c.state === 'OPEN');
  $('check-form').hidden = who.role !== 'customs' || Boolean(checks.find((c) => c.state !== 'CLOSED'));
  $('panel-answer-form').hidden = !(open && (who.role === 'issuer' || who.role === 'admin'));
  $('panel-answer-form').dataset.check = open ? open.id : '';
}

async function load() {
  let decisions = [];
  try {
    decisions = await api(key, `/v1/certificates/${targetHash}/decisions`);
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  renderDecisions(decisions);
  renderChecks(await api(key, `/v1/checks?targetHash=${targetHash}&state=all&limit=100`));
  $('decision-form').hidden = who.role !== 'customs';
}

async function act(path, body, done) {
  say('Sending…');
  try {
    await api(key, path, { method: 'POST', body });
    say(done, 'ok');
  } catch (e) {
    say(`Refused: ${e.message}`, 'bad');
  }
  await load().catch((e) => say(e.message, 'bad'));
}

async function use(k, fromForm) {
  $('customs-key-error').hidden = true;
  try {
    who = await api(k, '/portal/api/whoami');
    key = k;
    store.set(k);
    $('customs-key').hidden = true;
    $('customs-work').hidden = false;
    $('customs-who').textContent = `${who.role} (${who.country})`;
    await load();
  } catch (e) {
    if (fromForm) {
      $('customs-key-error').textContent = e.status === 401 ? 'This key is not valid.' : e.message;
      $('customs-key-error').hidden = false;
    }
  }
}

if (panel) {
  $('customs-key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const k = $('customs-api-key').value.trim();
    $('customs-api-key').value = '';
    if (k) use(k, true);
  });
  $('customs-forget').addEventListener('click', () => {
    store.clear();
    key = null;
    $('customs-work').hidden = true;
    $('customs-key').hidden = false;
  });
  $('decision-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const preference = $('decision-preference').value;
    const note = $('decision-note').value.trim();
    act('/v1/decisions', { certificate: { targetHash }, preference,
      reason: preference === 'GIVEN' ? 'NONE' : $('decision-reason').value, note: note || null },
    'Decision recorded on the network.');
  });
  $('check-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const questions = $('check-questions').value.split('\n').map((q) => q.trim()).filter(Boolean);
    act('/v1/checks', { certificate: { targetHash }, reason: $('check-reason').value, questions },
      'Retroactive check requested: the issuing country is notified.');
  });
  $('panel-answer-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const id = $('panel-answer-form').dataset.check;
    const revoke = $('panel-answer-revoke').value;
    act(`/v1/checks/${id}/answer`, { result: $('panel-answer-result').value,
      findings: $('panel-answer-findings').value, revoke: revoke ? { reason: revoke } : null },
    `Check ${id} answered.`);
  });
  const existing = store.get();
  if (existing) use(existing, false);
}
