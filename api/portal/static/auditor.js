// The auditor page: search this node's documents of the key's jurisdiction with their on-chain events,
// and export the results as NDJSON (fetched with the key in a header, saved from a blob).
import { api, el, setupKey, short, utc } from './keys.js';

let key = null;
const form = document.getElementById('search-form');
const statusLine = document.getElementById('status');
const table = document.getElementById('results');

function say(message, tone = '') {
  statusLine.textContent = message;
  statusLine.className = `status-line${tone ? ` tone-${tone}` : ''}`;
}

function params() {
  const p = new URLSearchParams();
  for (const name of ['issuer', 'reference', 'from', 'to']) {
    const value = form.elements[name].value.trim();
    if (value) p.set(name, value);
  }
  return p;
}

const KIND_WORDS = { ANCHORED: 'Anchored', REVOKED: 'Revoked', SUPERSEDED: 'Replaced', SUPERSEDES: 'Replaces another' };
const STATUS_WORDS = { ANCHORED: 'In force', REVOKED: 'Revoked', SUPERSEDED: 'Replaced', NOT_ANCHORED: 'Not anchored' };

function eventsCell(events) {
  if (!events.length) return el('td', {}, '—');
  return el('td', {}, el('details', {},
    el('summary', {}, `${events.length} event${events.length === 1 ? '' : 's'}`),
    el('ol', { class: 'event-list' }, events.map((e) => el('li', {},
      el('strong', {}, KIND_WORDS[e.kind] || e.kind), ` ${utc(e.time)}, block ${e.blockNumber}, `,
      el('span', { class: 'mono', title: e.transactionHash }, `tx ${short(e.transactionHash)}`),
      e.reasonName ? ` (${e.reasonName})` : '')))));
}

function render(result) {
  const rows = result.results.map((r) => el('tr', { dataset: { target: r.targetHash } },
    el('td', {}, el('a', { href: `/portal/certificates/${r.targetHash}` }, r.referenceNumber || short(r.targetHash))),
    el('td', {}, r.issuingCountry || ''),
    el('td', { class: 'mono', title: r.issuer || '' }, short(r.issuer, 6)),
    el('td', {}, r.anchoredAtUtc || ''),
    el('td', {}, el('span', { class: `state state-${(r.chainStatus || '').toLowerCase()}` }, STATUS_WORDS[r.chainStatus] || r.chainStatus)),
    eventsCell(r.events)));
  table.querySelector('tbody').replaceChildren(...rows);
  table.hidden = rows.length === 0;
  const more = result.truncated ? ' (more match: narrow the search)' : '';
  say(rows.length ? `${result.count} document${result.count === 1 ? '' : 's'} of ${result.query.jurisdiction} found${more}.`
    : `No documents of ${result.query.jurisdiction} match.`, rows.length ? 'ok' : '');
}

async function search() {
  say('Searching…');
  try {
    render(await api(key, `/portal/api/audit/search?${params()}`));
  } catch (e) {
    say(`The search failed: ${e.message}`, 'bad');
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  search();
});

document.getElementById('export').addEventListener('click', async () => {
  say('Preparing the export…');
  try {
    const response = await api(key, `/portal/api/audit/export?${params()}`, { raw: true });
    const blob = await response.blob();
    const disposition = response.headers.get('content-disposition') || '';
    const name = (/filename="([^"]+)"/.exec(disposition) || [])[1] || 'certnet-audit.ndjson';
    const url = URL.createObjectURL(blob);
    const link = el('a', { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    say(`Exported ${name}.`, 'ok');
  } catch (e) {
    say(`The export failed: ${e.message}`, 'bad');
  }
});

setupKey('auditor', '/portal/api/audit/search?limit=1', async (k) => {
  key = k;
  await search();
});
