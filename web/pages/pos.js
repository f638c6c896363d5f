// The till's screen: look a member up by card or phone, show what the cashier needs, and keep
// it current through memberUpdated (the member earns or redeems anywhere, the screen follows).
(function () {
  "use strict";
  const client = window.memberStateClient;
  const $ = (id) => document.getElementById(id);
  const FLAGGED_TIERS = ["Gold"];

  const MEMBER_FIELDS = `
    id version
    profile { firstName lastName }
    balance { available pending value { amount currencyCode } }
    tier { current { name } next { name } pointsToNext progress }
    eligibleRewards(channel: POS) { id name cost }`;
  const LOOKUP = `query TillLookup($kind: IdentifierKind!, $value: String!) {
    memberByIdentifier(kind: $kind, value: $value) { ${MEMBER_FIELDS} } }`;
  const UPDATES = `subscription TillMember($id: ID!, $since: Int) {
    memberUpdated(memberId: $id, sinceVersion: $since) {
      version changes entry { points } member { ${MEMBER_FIELDS} } } }`;
  const STORE = `subscription TillStore($storeId: ID!) {
    storeActivity(storeId: $storeId) { kind at member { id profile { firstName lastName } tier { current { name } } } } }`;

  const state = { token: null, storeId: null, member: null, stopMember: null, stopStore: null };

  // The token comes once: in the URL fragment (#token=..., never sent to a server) or pasted,
  // and is kept in this browser's localStorage for the till.
  function loadToken() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.get("token")) {
      localStorage.setItem("pos.token", fragment.get("token"));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return localStorage.getItem("pos.token");
  }

  function claims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part));
    } catch (e) {
      return {};
    }
  }

  function auth() { return "Bearer " + state.token; }
  function setStatus(text) { $("status").textContent = text; }
  function say(text) { $("message").textContent = text || ""; }

  function render(member, change) {
    state.member = member;
    $("member").hidden = false;
    const name = [member.profile.firstName, member.profile.lastName].filter(Boolean).join(" ");
    $("name").textContent = name || "(no name)";
    $("balance").textContent = String(member.balance.available);
    $("value").textContent = member.balance.value.amount + " " + member.balance.value.currencyCode;
    $("pending").textContent = String(member.balance.pending);
    $("tier").textContent = member.tier.current.name;
    $("to-next").textContent = member.tier.next
      ? member.tier.pointsToNext + " points to " + member.tier.next.name
      : "top tier";
    $("progress").value = member.tier.progress;
    $("version").textContent = String(member.version);
    $("last-change").textContent = change || "";
    const list = $("rewards");
    list.replaceChildren();
    for (const reward of member.eligibleRewards) {
      const item = document.createElement("li");
      item.textContent = reward.name + " (" + reward.cost + " points)";
      list.appendChild(item);
    }
    if (!member.eligibleRewards.length) {
      const item = document.createElement("li");
      item.textContent = "none yet";
      list.appendChild(item);
    }
  }

  function describe(update) {
    const points = update.entry ? " " + (update.entry.points > 0 ? "+" : "") + update.entry.points : "";
    return "- " + update.changes.join(", ") + points;
  }

  function watchMember(member) {
    if (state.stopMember) state.stopMember();
    state.stopMember = client.subscribe(
      { query: UPDATES, variables: { id: member.id, since: member.version } },
      auth(),
      {
        next: (result) => {
          if (result.errors) { say(result.errors[0].message); return; }
          const update = result.data.memberUpdated;
          if (state.member && state.member.id === update.member.id) render(update.member, describe(update));
        },
        error: () => setStatus("disconnected"),
        complete: () => {},
      },
      setStatus
    );
  }

  // A check-in at this store reaches the till on storeActivity: a member whose tier is flagged
  // (Gold) is announced to the cashier.
  function onStoreEvent(event) {
    const member = event.member;
    if (!FLAGGED_TIERS.includes(member.tier.current.name)) return false;
    const name = [member.profile.firstName, member.profile.lastName].filter(Boolean).join(" ");
    $("flag").hidden = false;
    $("flag").textContent = member.tier.current.name + " member in store: " + name + " (" + event.kind + ")";
    return true;
  }

  function watchStore() {
    if (!state.storeId) return;
    state.stopStore = client.subscribe(
      { query: STORE, variables: { storeId: state.storeId } },
      auth(),
      {
        next: (result) => {
          if (result.errors) {
            // A refused feed (e.g. FORBIDDEN for a store not on the token): say so, quietly.
            $("store").dataset.feed = "unavailable";
            $("store").title = "store feed unavailable: " + result.errors[0].message;
            return;
          }
          $("store").dataset.feed = "live";
          onStoreEvent(result.data.storeActivity);
        },
        error: () => { $("store").dataset.feed = "unavailable"; },
        complete: () => {},
      },
      setStatus
    );
  }

  async function lookup(text) {
    const value = text.trim();
    if (!value) return;
    say("");
    // Digits only is a card number first; anything else (or a card not found) a phone number.
    const kinds = /^[0-9]{6,20}$/.test(value) ? ["LOYALTY_CARD", "PHONE"] : ["PHONE"];
    for (const kind of kinds) {
      const result = await client.post({ query: LOOKUP, variables: { kind, value } }, { Authorization: auth() });
      if (result.errors) { say(result.errors[0].message); return; }
      const member = result.data.memberByIdentifier;
      if (member) {
        $("flag").hidden = true;
        render(member, "");
        watchMember(member);
        return;
      }
    }
    $("member").hidden = true;
    state.member = null;
    if (state.stopMember) state.stopMember();
    say("No member found for " + value);
  }

  function start() {
    state.token = loadToken();
    if (!state.token) {
      $("token-form").hidden = false;
      return;
    }
    const stores = claims(state.token).store_ids || [];
    state.storeId = stores[0] || null;
    $("store").textContent = state.storeId ? "Store " + state.storeId : "";
    $("lookup-form").hidden = false;
    $("lookup").focus();
    watchStore();
  }

  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim().replace(/^Bearer\s+/i, "");
    if (!value) return;
    localStorage.setItem("pos.token", value);
    $("token-form").hidden = true;
    start();
  });
  $("lookup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    lookup($("lookup").value);
  });
  $("forget-token").addEventListener("click", () => {
    localStorage.removeItem("pos.token");
    location.reload();
  });

  window.pos = { lookup, onStoreEvent, state };
  start();
})();
