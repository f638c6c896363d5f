// Shared by the GraphiQL and POS pages: HTTP for queries and mutations, graphql-ws on the same
// /graphql path for subscriptions, with the bearer token in connection_init's payload.
(function () {
  "use strict";

  const httpUrl = "/graphql";
  const wsUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql";

  // The operation to run: the named one, else the first. Comments and strings are ignored
  // enough for the shapes GraphiQL sends (a full parser is not shipped to the browser).
  function operationType(query, operationName) {
    const text = query.replace(/#[^\n]*/g, "");
    if (operationName) {
      const named = new RegExp("\\b(query|mutation|subscription)\\s+" + operationName + "\\b");
      const match = text.match(named);
      if (match) return match[1];
    }
    const first = text.match(/^\s*(query|mutation|subscription)\b/m);
    return first ? first[1] : "query";
  }

  function authorization(headers) {
    for (const [key, value] of Object.entries(headers || {})) {
      if (key.toLowerCase() === "authorization" && value) return String(value);
    }
    return null;
  }

  // One socket per token: a changed Authorization header opens a new one.
  let socket = null;
  let socketAuth = null;
  function wsClient(auth, onStatus) {
    if (socket === null || socketAuth !== auth) {
      if (socket !== null) socket.dispose();
      socketAuth = auth;
      socket = graphqlWs.createClient({
        url: wsUrl,
        lazy: true,
        retryAttempts: Infinity,
        shouldRetry: () => true,
        connectionParams: auth ? { Authorization: auth } : {},
        on: onStatus ? {
          connected: () => onStatus("connected"),
          closed: () => onStatus("disconnected"),
          connecting: () => onStatus("connecting"),
        } : undefined,
      });
    }
    return socket;
  }

  async function post(params, headers) {
    const response = await fetch(httpUrl, {
      method: "POST",
      headers: Object.assign({ "content-type": "application/json", accept: "application/json" }, headers),
      body: JSON.stringify(params),
    });
    return response.json();
  }

  // Subscribe with callbacks; returns the function that ends the subscription.
  function subscribe(params, auth, sink, onStatus) {
    return wsClient(auth, onStatus).subscribe(params, sink);
  }

  window.memberStateClient = { operationType, authorization, wsClient, post, subscribe };
})();
