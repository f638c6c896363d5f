// A member's screen kept live: read over HTTP, then memberUpdated over graphql-ws from the version
// read, resuming from the last version seen after any reconnect. Web and React Native have a
// global WebSocket; on Node pass one (e.g. `ws`) as webSocketImpl.
import { createClient, type Client } from "graphql-ws";

export interface MemberState {
  id: string;
  version: number;
  profile: { firstName: string | null; lastName: string | null };
  balance: { available: number; pending: number };
  tier: { current: { name: string }; pointsToNext: number | null; progress: number };
}

interface MemberUpdate {
  version: number;
  changes: string[];
  coalesced: boolean;
  member: MemberState;
}

const MEMBER_FIELDS = `
  id version
  profile { firstName lastName }
  balance { available pending }
  tier { current { name } pointsToNext progress }`;

const READ = `query MemberScreen($id: ID!) { member(id: $id) { ${MEMBER_FIELDS} } }`;
const WATCH = `subscription MemberScreenUpdates($id: ID!, $since: Int) {
  memberUpdated(memberId: $id, sinceVersion: $since) {
    version changes coalesced member { ${MEMBER_FIELDS} } } }`;

export class GraphQLRequestError extends Error {
  constructor(readonly errors: { message: string; extensions?: { code?: string } }[]) {
    super(errors.map((e) => e.message).join("; "));
  }
}

/** One query or mutation over HTTP (POST /graphql). */
export async function request<T>(
  baseUrl: string,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: GraphQLRequestError["errors"] };
  if (body.errors?.length) throw new GraphQLRequestError(body.errors);
  return body.data as T;
}

/** The WebSocket client: one socket for all subscriptions, reconnecting with jittered backoff. */
export function connect(wsUrl: string, token: () => string, webSocketImpl?: unknown): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl,
    // Read on every (re)connect, so a refreshed token is used. A bad token closes with 4401.
    connectionParams: () => ({ Authorization: `Bearer ${token()}` }),
    lazy: true,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: (retries) =>
      new Promise((resolve) =>
        setTimeout(resolve, Math.min(500 * 2 ** retries, 15_000) * (0.5 + Math.random() / 2)),
      ),
  });
}

/**
 * Read the member, then follow every change from the version read. Returns the function that
 * stops watching. `onState` gets each new state once, in version order.
 */
export async function watchMember(
  baseUrl: string,
  client: Client,
  token: string,
  memberId: string,
  onState: (member: MemberState, changes: string[]) => void,
  onError: (error: unknown) => void = console.error,
): Promise<() => void> {
  const { member } = await request<{ member: MemberState | null }>(baseUrl, token, READ, {
    id: memberId,
  });
  if (member === null) throw new Error(`no member ${memberId}`);
  onState(member, []);
  let version = member.version;
  // graphql-ws re-sends this same payload object after a reconnect: keeping `since` at the last
  // version seen makes the server send one catch-up of what was missed, and nothing twice.
  const payload = { query: WATCH, variables: { id: memberId, since: version } };
  return client.subscribe<{ memberUpdated: MemberUpdate }>(payload, {
    next: ({ data, errors }) => {
      if (errors?.length) return onError(new GraphQLRequestError([...errors]));
      const update = data?.memberUpdated;
      if (!update || update.version <= version) return; // never backwards, never twice
      version = update.version;
      payload.variables = { id: memberId, since: version };
      onState(update.member, update.changes);
    },
    error: onError, // e.g. NOT_FOUND, or FORBIDDEN for another member's id
    complete: () => undefined,
  });
}
