/* Minicom messenger for any website: the launcher, the panel that frames
 * /messenger, and window.Minicom for the host page. No dependencies.
 *
 *   <script>window.minicomSettings = {};</script>
 *   <script src="https://chat.example.com/widget.js" async></script>
 *
 * Minicom('boot', {user_id, user_hash, expires, name, email, attributes,
 * track_pages, language}) (language: 'en', 'es', 'fr', 'de' or 'pt'; else the
 * browser's), 'update' (also after a single-page site's navigation),
 * 'show', 'hide', 'showNewMessage', text, 'shutdown', and 'onShow',
 * 'onHide', 'onUnreadCountChange' with a callback. Calls made before this
 * script loaded are queued in Minicom.q. Page and frame talk only through
 * postMessage, the target origin set and the sender checked on both sides. */
(function () {
  'use strict';
  var existing = window.Minicom;
  if (existing && existing.loaded) return;
  var script = document.currentScript;
  if (!script || !script.src) return;
  var server = new URL(script.src).origin;

  var settings = {};
  // The admins' look (colour, side), from /widget/look and then the frame;
  // a colour or alignment the page passes to boot wins.
  var look = {};
  // The launcher's words, in the visitor's language once /widget/look says.
  var labels = {
    open: 'Open chat', close: 'Close chat', unread_one: 'Open chat (1 unread)',
    unread: 'Open chat ({count} unread)', title: 'Chat'
  };
  var open = false;
  var unread = 0;
  var frame = null;
  var ready = false;
  var outbox = [];
  var listeners = { show: [], hide: [], unread: [] };

  var icons = {
    chat: '<path d="M21 11.5a8.5 8.5 0 0 1-12.3 7.6L3 21l1.9-5.4A8.5 8.5 0 1 1 21 11.5z"/>',
    close: '<path d="M6 6l12 12"/><path d="M18 6L6 18"/>'
  };

  // Everything drawn lives in a shadow root: the host page's styles cannot
  // reach it, nor its styles the page.
  var host = document.createElement('div');
  host.setAttribute('data-minicom', '');
  var root = host.attachShadow({ mode: 'open' });
  root.innerHTML =
    '<style>' +
    ':host{all:initial}' +
    '.wrap{position:fixed;bottom:20px;right:20px;z-index:2147483000;display:flex;flex-direction:column;align-items:flex-end;gap:12px;font:15px system-ui,sans-serif}' +
    '.wrap.left{right:auto;left:20px;align-items:flex-start}' +
    '.panel{width:380px;height:min(640px,calc(100vh - 110px));border:0;border-radius:18px;overflow:hidden;box-shadow:0 8px 30px rgba(16,24,40,.25);background:#fff;display:none}' +
    '.panel.open{display:block}' +
    'iframe{width:100%;height:100%;border:0;display:block}' +
    'button{position:relative;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;background:var(--minicom-brand,#2f5fd0);color:var(--minicom-brand-text,#fff);display:grid;place-items:center;box-shadow:0 8px 30px rgba(16,24,40,.25)}' +
    'button:focus-visible{outline:3px solid #1d2330;outline-offset:3px}' +
    'svg{width:26px;height:26px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}' +
    '.badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;box-sizing:border-box;border-radius:10px;background:#c62828;color:#fff;font:700 12px/20px system-ui,sans-serif;text-align:center}' +
    '.badge[hidden]{display:none}' +
    '@media (max-width:480px){.panel.open{position:fixed;inset:0;width:100vw;height:100dvh;border-radius:0}.wrap.opened.live button{display:none}}' +
    '</style>' +
    '<div class="wrap"><div class="panel" role="dialog" aria-label="Chat"></div>' +
    '<button type="button" aria-expanded="false"><svg viewBox="0 0 24 24" aria-hidden="true"></svg>' +
    '<span class="badge" aria-hidden="true" hidden></span></button></div>';
  var wrap = root.querySelector('.wrap');
  var panel = root.querySelector('.panel');
  var button = root.querySelector('button');
  var svg = root.querySelector('svg');
  var badge = root.querySelector('.badge');

  function draw() {
    svg.innerHTML = open ? icons.close : icons.chat;
    button.setAttribute('aria-expanded', String(open));
    button.setAttribute(
      'aria-label',
      open ? labels.close
        : unread === 1 ? labels.unread_one
          : unread > 1 ? labels.unread.replace('{count}', String(unread)) : labels.open
    );
    panel.setAttribute('aria-label', labels.title);
    if (frame) frame.title = labels.title;
    badge.textContent = String(unread);
    badge.hidden = open || unread === 0;
    panel.classList.toggle('open', open);
    wrap.classList.toggle('opened', open);
    // On a phone the open panel covers the page; the launcher (then a close
    // button) hides only once the messenger, with its own close, is up.
    wrap.classList.toggle('live', ready);
    var side = settings.alignment || look.launcher_side;
    wrap.classList.toggle('left', side === 'left');
    var colour = settings.color || look.brand_colour;
    if (colour) host.style.setProperty('--minicom-brand', String(colour));
    // The admins' colour comes with its text colour; a page's own colour gets white.
    host.style.setProperty('--minicom-brand-text', settings.color ? '#fff' : look.brand_text || '#fff');
  }

  /** Sends to the frame once it said it is listening. After identify or
   * forget the frame may reload: later messages wait for its next "ready". */
  function tell(message) {
    if (ready && frame) {
      frame.contentWindow.postMessage(message, server);
      if (message.minicom === 'identify' || message.minicom === 'forget') ready = false;
    } else {
      outbox.push(message);
    }
  }

  function identify() {
    if (settings.user_id && settings.user_hash) {
      ensureFrame();
      tell({
        minicom: 'identify',
        user_id: String(settings.user_id),
        user_hash: String(settings.user_hash),
        expires: settings.expires,
        name: settings.name,
        email: settings.email,
        attributes: settings.attributes
      });
    }
  }

  function ensureFrame() {
    if (frame) return;
    frame = document.createElement('iframe');
    frame.title = labels.title;
    // Browsers without location.ancestorOrigins learn this page's origin from it.
    frame.referrerPolicy = 'origin';
    // The page the visitor is on rides after '#', which never reaches a
    // server's logs; later changes go by postMessage (tellPage).
    frame.src = server + '/messenger?embed=1' + languageParam('&') +
      (tracksPages() ? '#' + pageParams() : '');
    lastPage = tracksPages() ? window.location.href : '';
    panel.appendChild(frame);
  }

  // The site may name the messenger's language; else the browser's is used.
  function languageParam(joiner) {
    var language = settings.language || (window.minicomSettings || {}).language;
    return typeof language === 'string' && language ? joiner + 'lang=' + encodeURIComponent(language) : '';
  }

  // The team sees which page the visitor is on, unless the site says
  // track_pages: false.
  function tracksPages() { return settings.track_pages !== false; }
  function pageParams() {
    return 'page=' + encodeURIComponent(window.location.href) +
      '&title=' + encodeURIComponent(document.title || '');
  }
  var lastPage = null;
  function tellPage() {
    var now = tracksPages() ? window.location.href : '';
    if (!frame || now === lastPage) return;
    lastPage = now;
    // url null: the site keeps its pages to itself; the frame forgets the last.
    tell({ minicom: 'page', url: now || null, title: now ? document.title || '' : '' });
  }
  window.addEventListener('popstate', tellPage);
  window.addEventListener('hashchange', tellPage);

  var MEMORY = 'minicom.opened';
  function remember() {
    try { window.localStorage.setItem(MEMORY, '1'); } catch (err) { /* storage off */ }
  }
  function chattedBefore() {
    try { return window.localStorage.getItem(MEMORY) === '1'; } catch (err) { return false; }
  }

  function emit(kind, value) {
    listeners[kind].forEach(function (callback) {
      try { callback(value); } catch (err) { console.error(err); }
    });
  }

  function setOpen(value) {
    if (value === open) return;
    open = value;
    if (open) {
      ensureFrame();
      remember();
    }
    tell({ minicom: open ? 'shown' : 'hidden' });
    draw();
    emit(open ? 'show' : 'hide');
    if (open && frame) frame.focus();
  }

  window.addEventListener('message', function (event) {
    if (!frame || event.origin !== server || event.source !== frame.contentWindow) return;
    var data = event.data || {};
    if (data.minicom === 'ready') {
      ready = true;
      draw();
      // The frame (re)loaded or finished a sign-in: it learns where it
      // stands, then what waited — up to the next identify or forget.
      var waiting = outbox;
      outbox = [];
      frame.contentWindow.postMessage({ minicom: open ? 'shown' : 'hidden' }, server);
      waiting.forEach(function (message) {
        if (message.minicom !== 'shown' && message.minicom !== 'hidden') tell(message);
      });
      // A reloaded frame still has the page it was made on; say the current one.
      lastPage = null;
      tellPage();
    } else if (data.minicom === 'unread' && typeof data.count === 'number') {
      if (data.count !== unread) {
        unread = data.count;
        draw();
        emit('unread', unread);
      }
    } else if (data.minicom === 'look' && data.look && typeof data.look === 'object') {
      look = data.look;
      draw();
    } else if (data.minicom === 'close') {
      setOpen(false);
      button.focus();
    }
  });

  button.addEventListener('click', function () { setOpen(!open); });

  var api = {
    boot: function (options) {
      // A new user, same site: its choice about sharing pages stays unless
      // this boot says otherwise.
      settings = Object.assign({ track_pages: settings.track_pages }, options || {});
      fetchLook();
      draw();
      identify();
      tellPage();
    },
    update: function (options) {
      var before = settings.user_id + '\n' + settings.user_hash;
      settings = Object.assign({}, settings, options || {});
      // The launcher's words follow at once; an open messenger keeps its
      // language until the page loads it again.
      fetchLook();
      draw();
      if (settings.user_id + '\n' + settings.user_hash !== before) identify();
      // A single-page site calls update after its own navigation.
      tellPage();
    },
    show: function () { setOpen(true); },
    hide: function () { setOpen(false); },
    showNewMessage: function (text) {
      setOpen(true);
      if (typeof text === 'string' && text) tell({ minicom: 'prefill', text: text });
    },
    shutdown: function () {
      setOpen(false);
      // Who the user was goes; how the launcher looks, and whether the
      // team may see pages, stay.
      settings = {
        alignment: settings.alignment, color: settings.color,
        track_pages: settings.track_pages, language: settings.language
      };
      if (unread !== 0) {
        unread = 0;
        emit('unread', 0);
      }
      draw();
      tell({ minicom: 'forget' });
    },
    onShow: function (callback) { listeners.show.push(callback); },
    onHide: function (callback) { listeners.hide.push(callback); },
    onUnreadCountChange: function (callback) { listeners.unread.push(callback); }
  };

  function Minicom(method) {
    var call = api[method];
    if (typeof call !== 'function') {
      console.warn('Minicom: unknown call "' + method + '"; see the README for the API.');
      return;
    }
    return call.apply(null, Array.prototype.slice.call(arguments, 1));
  }
  Minicom.loaded = true;
  window.Minicom = Minicom;

  // The admins' look and the launcher's words in the visitor's language.
  var asked = 0;
  var askedFor = null;
  function fetchLook() {
    var param = languageParam('?');
    if (!window.fetch || param === askedFor) return;
    askedFor = param;
    var mine = ++asked;
    fetch(server + '/widget/look' + param, { credentials: 'omit' })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (value) {
        if (!value) return;
        // Words only from the newest request (a later language was asked for).
        if (mine === asked && value.labels && typeof value.labels.unread === 'string') labels = value.labels;
        if (!look.brand_colour) look = value;
        draw();
      })
      .catch(function () { /* the default look and words stay */ });
  }

  function start() {
    document.body.appendChild(host);
    fetchLook();
    api.boot(window.minicomSettings || {});
    var queued = (existing && existing.q) || [];
    queued.forEach(function (args) { Minicom.apply(null, args); });
    // For someone who has chatted here before, fetch the messenger while
    // the page is idle, so the badge counts replies that come while the
    // panel is closed. Everyone else pays nothing until they open it.
    if (!chattedBefore()) return;
    var prefetch = function () { ensureFrame(); };
    if ('requestIdleCallback' in window) window.requestIdleCallback(prefetch, { timeout: 4000 });
    else setTimeout(prefetch, 2000);
  }
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
