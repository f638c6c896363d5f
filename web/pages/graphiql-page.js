// GraphiQL served by the API itself. The headers pane holds the Authorization header; it is
// sent with every HTTP request and, for subscriptions, in graphql-ws's connection_init payload.
(function () {
  "use strict";
  const client = window.memberStateClient;
  const params = new URLSearchParams(location.search);
  // A token may be handed over in the fragment (never sent to the server, so never logged).
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("token");
  if (token) history.replaceState(null, "", location.pathname + location.search);

  function fetcher(graphQLParams, options) {
    const headers = (options && options.headers) || {};
    if (client.operationType(graphQLParams.query, graphQLParams.operationName) === "subscription") {
      return client.wsClient(client.authorization(headers)).iterate(graphQLParams);
    }
    return client.post(graphQLParams, headers);
  }

  const props = {
    fetcher: fetcher,
    defaultEditorToolsVisibility: "headers",
    shouldPersistHeaders: true,
    defaultHeaders: JSON.stringify({ Authorization: "Bearer <token>" }, null, 2),
  };
  if (token) props.headers = JSON.stringify({ Authorization: "Bearer " + token }, null, 2);
  if (params.get("query")) props.query = params.get("query");
  if (params.get("variables")) props.variables = params.get("variables");

  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, props));
})();
