// The checks page: retroactive checks from the JSON API, for the issuing side (its inbox of checks to answer, with
// deadlines) and for the customs that asked (closing answered checks); overdue checks flagged.
import { api, el, setupKey, short, utc } from './keys.js';

let key = null;
let who = null;
const statusLine = document.getElementById('status');
const filter = document.getElementById('check-filter');
const dialog = document.getElementById('answer-dialog');
let answering = null;

function say(message, tone = '') {
  statusLine.textContent = message;
  statusLine.className = `status-line${tone ? ` tone-${tone}` : ''}`;
}

const words = (code) => (code || '').replaceAll('_', ' ').toLowerCase();

function stateCell(c) {
  if (c.overdue) return el('span', { class: 'state state-revoked', dataset: { overdue: '1' } }, 'Overdue');
  const tone = { OPEN: 'submitted', ANSWERED: 'anchored', CLOSED: 'sent' }[c.state] || 'sent';
  return el('span', { class: `state state-${tone}` }, c.state.charAt(0) + c.state.slice(1).toLowerCase());
}

function answerCell(c) {
  if (!c.result) return '';
  return el('span', {}, c.result === 'CONFIRMED' ? 'Confirmed' : 'Not confirmed',
    c.late ? ' (late)' : '', c.revoked ? ', revoked' : '');
}

function render(checks) {
  const rows = checks.map((c) => {
    const cert = c.certificate;
    const actions = el('td', { class: 'actions-cell' });
    if (c.state === 'OPEN' && (who.role === 'issuer' || who.role === 'admin')) {
      actions.append(el('button', { type: 'button', class: 'button button-small', dataset: { answer: c.id },
        'aria-label': `Answer check ${c.id}`, onclick: () => openAnswer(c) }, 'Answer…'));
    }
    if (c.state === 'ANSWERED' && who.role === 'customs') {
      actions.append(el('button', { type: 'button', class: 'button button-small button-secondary',
        dataset: { close: c.id }, 'aria-label': `Close check ${c.id}`, onclick: () => closeCheck(c) }, 'Close'));
    }
    return el('tr', { dataset: { check: c.id, state: c.state } },
      el('td', { class: 'num' }, c.id),
      el('td', {}, el('a', { href: `/portal/certificates/${cert.targetHash}` }, cert.referenceNumber || short(cert.targetHash))),
      el('td', {}, `${cert.issuingCountry} → ${cert.importingCountry}`),
      el('td', {}, words(c.reason)),
      el('td', {}, utc(c.openedAt)),
      el('td', { class: 'due' }, utc(c.dueAt)),
      el('td', {}, stateCell(c)),
      el('td', {}, answerCell(c)),
      actions);
  });
  document.querySelector('#checks tbody').replaceChildren(...rows);
  document.getElementById('checks-empty').hidden = rows.length > 0;
}

async function refresh() {
  try {
    render(await api(key, `/v1/checks?state=${encodeURIComponent(filter.value)}&limit=200`));
  } catch (e) {
    say(`The checks could not be loaded: ${e.message}`, 'bad');
  }
}

function openAnswer(c) {
  answering = c;
  document.getElementById('answer-id').textContent = `${c.id}`;
  const req = c.request;
  const box = document.getElementById('answer-request');
  box.replaceChildren(req
    ? el('div', {}, el('p', {}, `Asked by the customs of ${c.certificate.importingCountry}: ${words(req.reason)}.`),
      el('ol', { class: 'questions' }, ...(req.questions || []).map((q) => el('li', {}, q))),
      ...(req.attachments || []).map((a) => el('p', { class: 'mono small' }, `${a.name}: sha256 ${short(a.sha256)}`)))
    : el('p', { class: 'hint' }, 'The request has not reached this service yet.'));
  document.getElementById('answer-findings').value = '';
  document.getElementById('answer-revoke').checked = false;
  dialog.returnValue = '';
  dialog.showModal();
  document.getElementById('answer-result').focus();
}

async function answer(c) {
  const body = { result: document.getElementById('answer-result').value,
    findings: document.getElementById('answer-findings').value };
  if (document.getElementById('answer-revoke').checked) {
    body.revoke = { reason: document.getElementById('answer-revoke-reason').value };
  }
  say(`Answering check ${c.id}…`);
  try {
    const a = await api(key, `/v1/checks/${c.id}/answer`, { method: 'POST', body });
    say(`Check ${c.id} answered (${words(a.result)}${a.revoked ? ', certificate revoked' : ''}${a.late ? ', late' : ''}): `
      + `transaction ${short(a.answeredTransaction)}.`, 'ok');
  } catch (e) {
    say(`The answer to check ${c.id} was refused: ${e.message}`, 'bad');
  }
  await refresh();
}

async function closeCheck(c) {
  say(`Closing check ${c.id}…`);
  try {
    await api(key, `/v1/checks/${c.id}/close`, { method: 'POST' });
    say(`Check ${c.id} is closed.`, 'ok');
  } catch (e) {
    say(`Check ${c.id} could not be closed: ${e.message}`, 'bad');
  }
  await refresh();
}

dialog.addEventListener('close', () => {
  const c = answering;
  answering = null;
  if (dialog.returnValue === 'confirm' && c) answer(c);
});
document.getElementById('answer-cancel').addEventListener('click', () => dialog.close('cancel'));
document.getElementById('refresh').addEventListener('click', refresh);
filter.addEventListener('change', refresh);

setupKey('checks', '/v1/checks?limit=1', async (k) => {
  key = k;
  who = await api(k, '/portal/api/whoami');
  document.getElementById('key-role').textContent = `${who.role} (${who.country})`;
  if (who.role === 'customs') filter.value = 'all';
  await refresh();
});
