/*
 * Herald's embeddable portal: <script src="https://<herald>/portal/embed.js"></script>, then
 *
 *   const portal = HeraldPortal.open({
 *     publicKey: 'pk_test_…',          // names the environment and the origins allowed to embed
 *     clientToken: 'ct_…',             // minted by your backend for one tenant; works once
 *     container: document.getElementById('webhooks'),
 *     onEvent: (name, metadata) => {}, // READY, SCREEN_VIEW, ENDPOINT_CREATED, ENDPOINT_UPDATED,
 *                                      // TEST_EVENT_SENT, ERROR, SESSION_EXPIRED, EXIT
 *     theme: { accent: '#0a7', logo: 'https://…/logo.svg', dark: false },
 *   });
 *   portal.close();
 *
 * The client token is traded here, from your page (its Origin must be one of the public key's
 * allowed origins), for a session bound to the token's tenant; the portal opens in an iframe with
 * that session in its URL fragment (never sent to a server), and Herald serves the frame only to
 * the public key's allowed origins (Content-Security-Policy frame-ancestors). Plain JavaScript, no
 * dependency, loaded as it is (not bundled): it is the one file a host page includes.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  var herald = new URL(script ? script.src : '/portal/embed.js', window.location.href).origin;

  var EXCHANGE =
    'mutation Exchange($input: ExchangeClientTokenInput!) { exchangeClientToken(input: $input) { login { sessions { sessionKey expiresAt environment } } } }';

  function exchange(publicKey, clientToken) {
    return fetch(herald + '/graphql/api/public', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: EXCHANGE, variables: { input: { publicKey: publicKey, clientToken: clientToken } } }),
    })
      .then(function (r) {
        return r.json();
      })
      .then(function (body) {
        var e = body.errors && body.errors[0];
        if (e) {
          var err = new Error(e.message);
          err.code = (e.extensions && e.extensions.code) || 'INTERNAL_SERVER_ERROR';
          err.requestId = (e.extensions && e.extensions.requestId) || null;
          throw err;
        }
        return body.data.exchangeClientToken.login.sessions[0];
      });
  }

  function open(opts) {
    if (!opts || !opts.publicKey || !opts.clientToken || !opts.container) {
      throw new Error('HeraldPortal.open needs publicKey, clientToken and container');
    }
    var onEvent = typeof opts.onEvent === 'function' ? opts.onEvent : function () {};
    var theme = opts.theme || {};
    var frame = null;
    var closed = false;

    function emit(name, metadata) {
      try {
        onEvent(name, metadata || {});
      } catch (e) {
        setTimeout(function () {
          throw e;
        });
      }
    }

    function onMessage(ev) {
      if (!frame || ev.source !== frame.contentWindow || ev.origin !== herald) return;
      var m = ev.data;
      if (!m || m.source !== 'herald-portal' || typeof m.name !== 'string') return;
      emit(m.name, m.metadata);
      if (m.name === 'EXIT') close();
    }
    window.addEventListener('message', onMessage);

    exchange(opts.publicKey, opts.clientToken).then(
      function (session) {
        if (closed) return;
        var hash = new URLSearchParams({
          session: session.sessionKey,
          expiresAt: session.expiresAt,
          origin: window.location.origin,
        });
        if (theme.accent) hash.set('accent', String(theme.accent));
        if (theme.logo) hash.set('logo', String(theme.logo));
        if (theme.dark) hash.set('dark', '1');
        frame = document.createElement('iframe');
        frame.title = 'Webhooks';
        frame.src = herald + '/portal/embed?key=' + encodeURIComponent(opts.publicKey) + '#' + hash.toString();
        frame.style.cssText = 'width:100%;height:100%;min-height:600px;border:0;display:block';
        opts.container.appendChild(frame);
      },
      function (err) {
        emit('ERROR', { code: err.code || 'NETWORK', message: err.message, requestId: err.requestId || null });
      },
    );

    function close() {
      if (closed) return;
      closed = true;
      window.removeEventListener('message', onMessage);
      if (frame && frame.parentNode) frame.parentNode.removeChild(frame);
      frame = null;
    }
    return { close: close };
  }

  window.HeraldPortal = { open: open };
})();
