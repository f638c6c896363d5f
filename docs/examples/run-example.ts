// Runs member-client.ts on Node for the test: prints each state as one JSON line.
// Usage: node dist/run-example.js <http base url> <token> <member id>
import WebSocket from "ws";
import { connect, watchMember } from "./member-client.js";

const [baseUrl, token, memberId] = process.argv.slice(2);
const client = connect(baseUrl.replace(/^http/, "ws") + "/graphql", () => token, WebSocket);
await watchMember(baseUrl, client, token, memberId, (member, changes) => {
  console.log(JSON.stringify({ version: member.version, available: member.balance.available, changes }));
}, (error) => {
  console.error(error);
  process.exit(1);
});
