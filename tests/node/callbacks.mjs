// Checks chorus callback signatures with the official Node.js SDK validator
// (@sinch/sdk-core 1.4.0: ConversationCallbackWebhooks.validateAuthenticationHeader).
//
// Reads JSON lines on stdin, each {"headers": {...}, "body": "<raw body>", "secret": "..."},
// and prints one JSON line per input: {"raw": bool, "parsed": bool} — whether the validator
// accepts the raw body string, and the body parsed into an object (which the SDK
// re-serialises with JSON.stringify; API.md §8.4).

import { createInterface } from 'node:readline';
import { ConversationCallbackWebhooks } from '@sinch/sdk-core';

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const { headers, body, secret } = JSON.parse(line);
  const validator = new ConversationCallbackWebhooks(secret);
  const raw = validator.validateAuthenticationHeader(headers, body, '/hook', 'POST');
  const parsed = validator.validateAuthenticationHeader(headers, JSON.parse(body), '/hook', 'POST');
  console.log(JSON.stringify({ raw, parsed }));
}
