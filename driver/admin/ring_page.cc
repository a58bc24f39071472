#include "driver/admin/ring_page.h"

namespace wipam::driver {

// Kept as one literal so the daemon serves it with no files to install. Counts in /status are
// decimal strings (IPv6 counts exceed 2^64), so the script does range arithmetic in BigInt.
// Names and nicknames come from peers over the network: the script only ever sets them as
// textContent, never as HTML.
const std::string& ring_page_html() {
  static const std::string page = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>weave-ipam ring</title>
<style>
:root{--fg:#1f2933;--muted:#6b7785;--line:#e3e7ec;--bad:#c62828;--ok:#1e7d46}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
  background:#f5f6f8}
main{max-width:940px;margin:0 auto;padding:18px 24px}
header{display:flex;justify-content:space-between;align-items:baseline;gap:16px;flex-wrap:wrap}
h1{font-size:20px;margin:0}
.meta{color:var(--muted)}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin-top:12px}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12px;font-weight:600;
  background:#e6f4ea;color:var(--ok);margin-right:6px}
.badge.bad{background:#fdecea;color:var(--bad)}
#err{color:var(--bad);font-weight:600;margin-top:6px}
#err:empty{display:none}
svg{display:block;margin:0 auto;width:100%;max-width:660px;height:auto}
.segment,.used{stroke:#fff;stroke-width:1.5}
.outline{fill:none;stroke:var(--bad);stroke-width:2.5}
.label{font-size:12.5px;fill:var(--fg)}
.label .down{fill:var(--bad);font-weight:700}
.legend{display:flex;gap:22px;justify-content:center;color:var(--muted);font-size:12px}
.sw{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:7px;vertical-align:-1px}
.hatch{background:repeating-linear-gradient(45deg,#9aa3ad 0 2px,#d5d9de 2px 5px);
  outline:2px solid var(--bad);outline-offset:-2px}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);white-space:nowrap}
tr:last-child td{border-bottom:0}
th{font-size:11.5px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.04em}
.n{text-align:right;font-variant-numeric:tabular-nums}
.you{margin-left:8px;font:600 11px system-ui,sans-serif;color:var(--muted)}
.down td{color:var(--muted)}
td.reach{color:var(--ok);font-weight:600}
.down td.reach{color:var(--bad)}
footer{margin-top:10px;font-size:12px}
</style></head>
<body><main>
<header><h1>weave-ipam ring</h1><span class="meta" id="self"></span></header>
<div class="meta" id="summary">loading /status&hellip;</div>
<div id="err"></div>
<div class="card ring-card" id="ring-card"><div class="meta mono range-name"></div>
<svg id="ring" class="ring" viewBox="-330 -215 660 430" role="img" aria-label="allocation ring">
<defs><pattern id="hatch" width="7" height="7" patternUnits="userSpaceOnUse"
  patternTransform="rotate(45)"><rect width="7" height="7" fill="#d5d9de"/>
  <rect width="2.5" height="7" fill="#9aa3ad"/></pattern></defs>
<g id="segs" class="segs"></g><g id="outlines" class="outlines"></g><g id="labels" class="labels"></g>
<text id="c1" class="c1" text-anchor="middle" y="-10" font-size="18" font-weight="600"></text>
<text id="c2" class="c2" text-anchor="middle" y="14" font-size="13" fill="#6b7785"></text>
<text id="c3" class="c3" text-anchor="middle" y="33" font-size="13" fill="#6b7785"></text>
</svg>
<div class="legend"><span><i class="sw" style="background:#cdd4dc"></i>free (owner's colour)</span>
<span><i class="sw" style="background:#56626f"></i>used (darker inner band)</span>
<span><i class="sw hatch"></i>owner unreachable</span></div>
</div>
<div id="more-rings"></div>
<div class="card"><table>
<thead><tr><th>Peer</th><th>Nickname</th><th class="n">Owned</th><th class="n">% of range</th>
<th class="n">Free</th><th>Reachable</th></tr></thead>
<tbody id="peers"></tbody></table></div>
<footer class="meta" id="stamp"></footer>
</main>
<script>
'use strict';
const SVG = 'http://www.w3.org/2000/svg', TAU = 2 * Math.PI, R0 = 112, R1 = 172;
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text = '', ns = SVG) {
  const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== '') e.textContent = text;
  return e;
}
const html = (tag, attrs, text) => el(tag, attrs, text, null);

function parseAddr(s) {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(s)) {
    return {v: s.split('.').reduce((a, o) => (a << 8n) | BigInt(o), 0n), bits: 32};
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, null];
  const h = head ? head.split(':') : [], t = tail ? tail.split(':') : [];
  const groups = tail === null ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new Error('bad address ' + s);
  return {v: groups.reduce((a, g) => (a << 16n) | BigInt('0x' + g), 0n), bits: 128};
}

// "a/len" or "start-end" (end inclusive, as the daemon prints ranges that are not one CIDR).
function parseRange(text) {
  const slash = text.indexOf('/'), dash = text.indexOf('-');
  if (slash > 0) {
    const a = parseAddr(text.slice(0, slash));
    const size = 1n << BigInt(a.bits - Number(text.slice(slash + 1)));
    return {start: a.v - (a.v % size), size};
  }
  if (dash > 0) {
    const a = parseAddr(text.slice(0, dash)), b = parseAddr(text.slice(dash + 1));
    return {start: a.v, size: b.v - a.v + 1n};
  }
  throw new Error('bad range ' + text);
}

// FNV-1a plus a final mix, so names differing only in their last byte get distant hues.
function hueOf(name) {
  let h = 2166136261;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) % 360;
}
const colour = (name, l) => `hsl(${hueOf(name)},60%,${l}%)`;
const fmt = (count) => BigInt(count).toLocaleString('en-US');
const pct = (x) => (x * 100).toFixed(x > 0 && x < 0.001 ? 4 : 1) + '%';

// Annulus sector from fraction f0 to f1 of the circle, clockwise from the top. A whole
// circle stops just short, because an SVG arc whose ends coincide draws nothing.
function arc(f0, f1, r0, r1) {
  const a0 = f0 * TAU - TAU / 4, a1 = a0 + Math.min(f1 - f0, 0.9999) * TAU;
  const big = a1 - a0 > Math.PI ? 1 : 0;
  const p = (r, a) => `${(r * Math.cos(a)).toFixed(3)} ${(r * Math.sin(a)).toFixed(3)}`;
  return `M${p(r1, a0)}A${r1} ${r1} 0 ${big} 1 ${p(r1, a1)}L${p(r0, a1)}` +
         `A${r0} ${r0} 0 ${big} 0 ${p(r0, a0)}Z`;
}

function segmentsOf(s, universe) {
  const total = Number(universe.size), out = [];
  out.skipped = [];  // rows we cannot parse are listed, not allowed to blank the whole page
  for (const r of s.ring) {
    let g;
    try {
      g = parseRange(r.range);
    } catch (e) {
      out.skipped.push(r.range);
      continue;
    }
    if (g.size <= 0n) continue;
    const used = Number(g.size - BigInt(r.free)) / Number(g.size);
    out.push({r, f0: Number(g.start - universe.start) / total, share: Number(g.size) / total,
              used: Math.min(1, Math.max(0, used)), usedCount: g.size - BigInt(r.free)});
  }
  return out;
}

function drawRing(root, s, segs) {
  const q = (c) => root.querySelector('.' + c);
  const fills = [], outlines = [], owners = new Map();
  for (const g of segs) {
    const r = g.r, up = r.reachable === true, d = arc(g.f0, g.f0 + g.share, R0, R1);
    const seg = el('path', {class: up ? 'segment' : 'segment unreachable', d,
      fill: up ? colour(r.owner, 74) : 'url(#hatch)', 'data-range': r.range, 'data-ring': s.range,
      'data-owner': r.owner, 'data-reachable': String(up), 'data-share': String(g.share),
      'data-free': r.free});
    seg.append(el('title', {}, `${r.range}  ${r.nickname || r.owner}` +
      `${up ? '' : ' (unreachable)'}: ${fmt(r.free)} free, ${pct(g.used)} used`));
    fills.push(seg);
    if (g.used > 0) {  // at least 3 units thick, so a few used addresses still show
      const band = R0 + Math.max(3, (R1 - R0) * g.used);
      fills.push(el('path', {class: 'used', d: arc(g.f0, g.f0 + g.share, R0, band),
        fill: up ? colour(r.owner, 38) : 'rgba(55,60,70,.55)'}));
    }
    if (!up) outlines.push(el('path', {class: 'outline', d}));
    const o = owners.get(r.owner) || {share: 0, best: g};
    o.share += g.share;
    if (g.share > o.best.share) o.best = g;
    owners.set(r.owner, o);
  }
  if (segs.length === 0) fills.push(el('path', {d: arc(0, 1, R0, R1), fill: '#e3e7ec'}));
  q('segs').replaceChildren(...fills);
  q('outlines').replaceChildren(...outlines);
  q('labels').replaceChildren(...[...owners].filter(([, o]) => o.share >= 0.02).map(label));
}

// One label per owner, beside its largest segment, so an owner of many ranges is named once.
function label([owner, o]) {
  const mid = (o.best.f0 + o.best.share / 2) * TAU - TAU / 4, down = o.best.r.reachable !== true;
  const x = (R1 + 16) * Math.cos(mid), cos = Math.cos(mid), sin = Math.sin(mid);
  const y = (R1 + 16) * sin + 4 - (down && sin < -0.3 ? 15 : 0);
  const t = el('text', {class: 'label', x, y,
    'text-anchor': Math.abs(cos) < 0.2 ? 'middle' : cos > 0 ? 'start' : 'end'});
  const name = o.best.r.nickname || '\u2026' + owner.slice(-8);  // long labels leave the box
  t.append(el('tspan', {'font-weight': 600}, name.length > 16 ? name.slice(0, 15) + '\u2026' : name),
           el('tspan', {dx: 6}, pct(o.share)));
  if (down) t.append(el('tspan', {class: 'down', x, dy: 15}, '\u2717 unreachable'));
  return t;
}

function drawPeers(s, universe) {
  const total = Number(universe.size);
  const rows = [...s.peers].sort((a, b) => (a.name < b.name ? -1 : 1)).map((p) => {
    const up = p.reachable === true;
    const tr = html('tr', {class: up ? 'peer' : 'peer down', 'data-name': p.name,
                           'data-reachable': String(up)});
    const name = html('td', {class: 'mono'});
    name.append(html('span', {class: 'sw', style: `background:${colour(p.name, 66)}`}), p.name);
    if (p.name === s.peer) name.append(html('span', {class: 'you'}, 'this peer'));
    tr.append(name, html('td', {}, p.nickname || '\u2014'), html('td', {class: 'n'}, fmt(p.owned)),
              html('td', {class: 'n'}, pct(Number(BigInt(p.owned)) / total)),
              html('td', {class: 'n'}, fmt(p.free)),
              html('td', {class: 'reach'}, up ? '\u2713 yes' : '\u2717 unreachable'));
    return tr;
  });
  $('peers').replaceChildren(...rows);
}

function drawSummary(s, segs) {
  $('self').replaceChildren(html('span', {class: 'mono'}, s.peer), ` (${s.nickname || 'no nickname'})`);
  const parts = [html('span', {class: s.ready ? 'badge' : 'badge bad'}, s.status),
    `consensus ${s.consensus}` +  // quorum and known mean something only until consensus
    (s.consensus === 'achieved' ? '' : ` (quorum ${s.quorum}, ${s.known} known)`) +
    ` \u00b7 this peer: ${fmt(s.allocated)} allocated of ${fmt(s.owned)} owned`];
  const waiting = s.pending_allocates.length + s.pending_claims.length;
  if (waiting) parts.push(` \u00b7 ${waiting} requests waiting`);
  if (s.conflicts.length) {
    parts.push(html('div', {class: 'badge bad'}, `${s.conflicts.length} conflicts: ` +
      s.conflicts.map((c) => (typeof c === 'string' ? c : JSON.stringify(c))).join('; ')));
  }
  if (segs.skipped.length) {
    parts.push(html('div', {class: 'badge bad'}, 'not drawn: ' + segs.skipped.join(', ')));
  }
  $('summary').replaceChildren(...parts);
}

// The centre of one range's ring: its range, how much is used, who is reachable.
function drawCentre(root, s, segs) {
  const q = (c) => root.querySelector('.' + c);
  const used = segs.reduce((a, g) => a + g.usedCount, 0n), up = s.peers.filter((p) => p.reachable);
  const size = parseRange(s.range).size;
  root.querySelector('.range-name').textContent = s.range + ' \u00b7 ' + s.status;
  q('c1').textContent = s.range;
  q('c2').textContent = `${pct(Number(used) / Number(size))} used`;  // counts would not fit inside
  q('c2').append(el('title', {}, `${fmt(used)} of ${fmt(size)} addresses`));
  q('c3').textContent = segs.length ? `${up.length} of ${s.peers.length} peers reachable`
                                    : `no ring yet: consensus ${s.consensus}`;
}

// One ring per allocation range: the first in the page's own card, the others in copies.
function ringCards(count) {
  const first = $('ring-card'), more = $('more-rings');
  while (more.children.length > count - 1) more.lastChild.remove();
  while (more.children.length < count - 1) {
    const copy = first.cloneNode(true);
    copy.removeAttribute('id');
    copy.querySelectorAll('[id]').forEach((e) => e.removeAttribute('id'));
    more.append(copy);
  }
  return [first, ...more.children];
}

function draw(s) {
  const ranges = Array.isArray(s.ranges) && s.ranges.length ? s.ranges : [s];
  const cards = ringCards(ranges.length);
  let firstSegs = null;
  ranges.forEach((r, i) => {
    const segs = segmentsOf(r, parseRange(r.range));
    cards[i].dataset.range = r.range;
    drawRing(cards[i], r, segs);
    drawCentre(cards[i], r, segs);
    firstSegs = firstSegs || segs;
  });
  drawPeers(s, parseRange(s.range));
  drawSummary(s, firstSegs);
}

async function refresh() {
  try {
    const res = await fetch('/status', {cache: 'no-store'});
    if (!res.ok) throw new Error('HTTP ' + res.status);
    draw(await res.json());
    $('err').textContent = '';
    $('stamp').textContent = 'refreshes every 2 s \u00b7 updated ' + new Date().toLocaleTimeString();
    document.body.dataset.loaded = '1';
  } catch (e) {
    $('err').textContent = `cannot show /status (${e.message}); the view below may be stale`;
  }
  setTimeout(refresh, 2000);
}
refresh();
</script></body></html>
)html";
  return page;
}

}  // namespace wipam::driver
