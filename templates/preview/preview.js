// The preview page's script (index.html), served as /preview.js and run as a module
// (deferred: after the page is parsed; strict; its names stay in it). The page's
// Content-Security-Policy allows only same-origin scripts (script-src 'self'): no
// inline script in index.html, no eval. It needs nothing filled in by the server:
// it asks /state.json for what to show and listens to /events for new builds.
//
// Server-sent events: `build` (data {build, ms}) after each good build, `error` (data:
// the build's error) after a failed one; on connecting, the latest of them straight away.
const $ = (id) => document.getElementById(id);
const el = (tag, props, ...children) => {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children) if (c != null) e.append(c);
  return e;
};
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
let shownEmail = -1; // the build whose email the frames show
let shownView = ''; // and the view they show it in
let seen = -1; // the latest build counter rendered
let inFlight = null; // the state fetch under way
let want = false; // whether one more is wanted after it

// Tabs: click, or arrow keys between them.
const tabs = [...document.querySelectorAll('[role=tab]')];
const select = (tab) => {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !on;
  }
};
for (const t of tabs) {
  t.addEventListener('click', () => select(t));
  t.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(t);
    const j = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? tabs.length - 1 : null;
    if (j === null) return;
    e.preventDefault();
    const next = tabs[(j + tabs.length) % tabs.length];
    select(next);
    next.focus();
  });
}

// The Changes tab asks again when opened: a test send made since the last build changes what it compares with.
$('tab-changes').addEventListener('click', () => {
  const f = $('frame-changes');
  if (f.src) f.src = `/changes.html?build=${shownEmail}&t=${Date.now()}`;
});

// The views (Light, Dark, Inverted, No <style>, Images off): the server rewrites the email for each
// (/email.html?view=<id>), since a frame cannot be told to prefer dark mode.
const VIEW_ABOUT = {
  light: 'As built, in light mode.',
  dark: "With the email's own dark-mode styles, as Apple Mail and Outlook.com show it in dark mode.",
  inverted: 'Colours inverted, pictures kept: the Gmail and Outlook apps in dark mode.',
  'no-style': 'Every <style> removed, inline styles kept: Gmail for addresses that are not Google accounts.',
  'images-off': "Pictures not loaded, so their alt text shows: Outlook's default.",
};
const viewSelect = $('view');
const showAbout = () => {
  $('view-about').textContent = VIEW_ABOUT[viewSelect.value] || '';
};
showAbout();
viewSelect.addEventListener('change', () => {
  showAbout();
  if (shownEmail > 0) showEmail(shownEmail);
});

// Each frame as tall as its email, so the email gets the full width (no scrollbar) and the page scrolls.
for (const f of [$('frame-desktop'), $('frame-phone')]) {
  f.addEventListener('load', () => {
    try {
      const d = f.contentDocument;
      if (d?.documentElement) f.style.height = `${Math.max(200, d.documentElement.scrollHeight)}px`;
    } catch {
      /* not readable: keep the default height */
    }
  });
}

const whereLine = (f) => {
  const parts = [];
  if (f.whereText) parts.push(el('code', { textContent: f.whereText }), ' ');
  return parts;
};
const findingItem = (f, extra) =>
  el(
    'li',
    { className: `finding ${extra ? 'accepted' : f.severity}` },
    el('p', {}, el('span', { className: 'rule', textContent: `[${f.rule}] ` }), ...whereLine(f)),
    el('p', { textContent: f.message }),
    f.source != null
      ? el('pre', { textContent: (f.where?.line ? `${f.where.line} | ` : '') + f.source })
      : f.where?.excerpt
        ? el('pre', { textContent: f.where.excerpt })
        : null,
    f.relevelled ? el('p', { textContent: `(${f.relevelled.from} made ${f.severity} in config: ${f.relevelled.reason})` }) : null,
    extra || null,
  );

const renderChecks = (s) => {
  const panel = $('panel-checks');
  const n = s.findings.length;
  $('tab-checks').textContent = `Checks (${n})`;
  const parts = [];
  for (const [sev, title] of [
    ['error', 'Errors'],
    ['warning', 'Warnings'],
  ]) {
    const group = s.findings.filter((f) => f.severity === sev);
    if (!group.length) continue;
    parts.push(el('h2', { textContent: `${title} (${group.length})` }), el('ul', {}, ...group.map((f) => findingItem(f))));
  }
  if (!n) parts.push(el('p', { className: 'none', textContent: s.counts ? 'No errors or warnings.' : 'No build yet.' }));
  if (s.accepted.length) {
    parts.push(
      el('h2', { textContent: `Accepted in the issue file (${s.accepted.length})` }),
      el('ul', { id: 'accepted' }, ...s.accepted.map((f) => findingItem(f, el('p', { textContent: `Accepted: ${f.reason}` })))),
    );
  }
  for (const o of s.off)
    parts.push(el('p', { textContent: `Rule "${o.rule}" is off in config (${o.reason})${o.hidden ? `: ${o.hidden} finding(s) not shown` : ''}` }));
  for (const note of s.notes) parts.push(el('p', { textContent: `Note: ${note}` }));
  panel.replaceChildren(...parts);
};

const renderError = (s) => {
  const box = $('error');
  document.body.classList.toggle('failed', !!s.error);
  $('panes').classList.toggle('stale', !!s.error);
  if (!s.error) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const e = s.error;
  box.replaceChildren(
    ...[
      el('h2', { textContent: 'The last save could not be built' }),
      el('p', { textContent: e.message }),
      e.problems.length
        ? el(
            'ul',
            {},
            ...e.problems.map((p) =>
              el('li', {}, el('p', { textContent: p.text }), p.source != null ? el('pre', { textContent: `${p.line} | ${p.source}` }) : null),
            ),
          )
        : null,
      e.hint ? el('p', { textContent: e.hint }) : null,
      el('p', {
        textContent: s.emailBuild
          ? 'Below: the last good build. Fix the file and save; the preview updates by itself.'
          : 'Fix the file and save; the preview updates by itself.',
      }),
    ].filter((c) => c != null),
  );
  box.hidden = false;
};

const render = async (s) => {
  seen = s.build;
  document.body.dataset.build = String(s.build);
  renderError(s);
  if (s.label) $('label').textContent = `\u2014 ${s.label}`;
  $('subject').textContent = s.subject ? `Subject: ${s.subject}` : '';
  const size = $('size');
  if (s.size) {
    const pct = Math.round((s.size.html / s.limit) * 100);
    size.className = `size${s.size.html > s.limit ? ' over' : s.size.html > s.warnAt ? ' warn' : ''}`;
    const bar = el('span', { className: 'bar' }, el('span'));
    bar.firstChild.style.width = `${Math.min(100, pct)}%`;
    bar.setAttribute('aria-hidden', 'true');
    size.replaceChildren(
      'HTML ' +
        kb(s.size.html) +
        " of Gmail's " +
        kb(s.limit) +
        ' clipping limit (' +
        pct +
        '%)' +
        (s.size.html > s.limit ? ': OVER, Gmail will clip it' : s.size.html > s.warnAt ? ': close to the limit' : ''),
      bar,
    );
  } else size.textContent = 'No good build yet';
  $('time').textContent = s.ms != null ? `${s.ok ? 'Built' : 'Failed'} in ${s.ms} ms at ${new Date(s.at).toLocaleTimeString()} (build ${s.build})` : '';
  renderChecks(s);
  if (s.emailBuild) await showEmail(s.emailBuild);
};

let framesShown = Promise.resolve();
let shownChanges = -1;
// The changes panel, once build n is done (the server compares its finished build) and the email frames have shown it: the email first.
const showChanges = (n) =>
  framesShown.then(() => {
    if (n === shownEmail && n !== shownChanges) {
      shownChanges = n;
      $('frame-changes').src = `/changes.html?build=${n}`;
    }
  });

// Point both frames at build n's email in the chosen view (and the text tab at its text), once per build and view.
const showEmail = async (n) => {
  const view = viewSelect.value;
  if (n === shownEmail && view === shownView) return;
  const newBuild = n !== shownEmail;
  shownEmail = n;
  shownView = view;
  const frames = [$('frame-desktop'), $('frame-phone')];
  framesShown = Promise.all(frames.map((f) => new Promise((resolve) => f.addEventListener('load', resolve, { once: true }))));
  for (const f of frames) f.src = `/email.html?build=${n}&view=${encodeURIComponent(view)}`;
  if (!newBuild) return;
  const t = await fetch(`/email.txt?build=${n}`, { cache: 'no-store' });
  if (t.ok && n === shownEmail) $('text').textContent = await t.text();
};

// One state fetch at a time; a newer event during one asks for one more.
const refresh = async () => {
  if (inFlight) {
    want = true;
    return;
  }
  do {
    want = false;
    inFlight = fetch('/state.json', { cache: 'no-store' })
      .then((r) => r.json())
      .then(render);
    try {
      await inFlight;
    } catch {
      /* the server went away: the event stream says so */
    } finally {
      inFlight = null;
    }
  } while (want);
};

const live = $('live');
const events = new EventSource('/events');
events.addEventListener('open', () => {
  live.textContent = 'Live: updates on every save';
  live.classList.remove('down');
});
// The new email, before its checks: the frames reload now; "build" brings the checks after.
events.addEventListener('email', (e) => {
  showEmail(JSON.parse(e.data).build);
});
events.addEventListener('build', (e) => {
  const n = JSON.parse(e.data).build;
  if (n === seen) return;
  showEmail(n); // the frames start loading at once (if "email" has not started them), while the state comes
  showChanges(n);
  refresh();
});
// "error" is both our failed-build event (a MessageEvent, with data) and the stream's own connection error (no data).
events.addEventListener('error', (e) => {
  if (typeof e.data === 'string') {
    refresh();
    return;
  }
  live.textContent = 'Disconnected from the preview server: reconnecting (is the build-issue preview still running?)';
  live.classList.add('down');
});
