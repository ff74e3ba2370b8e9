/**
 * The Jupyter messaging protocol's wire format (version 5.3): messages, their HMAC-SHA256
 * signature and their ZeroMQ frames. See
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html#the-wire-protocol
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

export const PROTOCOL_VERSION = '5.3';
const DELIMITER = Buffer.from('<IDS|MSG>');

export interface Header {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
}

export interface Message<C = Record<string, any>> {
  header: Header;
  /** Empty for requests; the request's header for replies and for output a request caused. */
  parent_header: Partial<Header>;
  metadata: Record<string, unknown>;
  content: C;
}

/** A new request of `type` for the client session `session`. */
export function request<C>(type: string, content: C, session: string): Message<C> {
  return {
    header: { msg_id: randomUUID(), msg_type: type, session, username: 'finetune-lab', date: new Date().toISOString(), version: PROTOCOL_VERSION },
    parent_header: {},
    metadata: {},
    content,
  };
}

function sign(key: string, parts: Buffer[]): string {
  if (!key) return '';
  const hmac = createHmac('sha256', key);
  for (const part of parts) hmac.update(part);
  return hmac.digest('hex');
}

/** The frames of `message`, signed with the connection's key, for a DEALER socket. */
export function encode(message: Message, key: string): Buffer[] {
  const parts = [message.header, message.parent_header, message.metadata, message.content].map((p) => Buffer.from(JSON.stringify(p)));
  return [DELIMITER, Buffer.from(sign(key, parts)), ...parts];
}

/** Parses frames received on a DEALER or SUB socket; throws if the signature does not match `key`. */
export function decode(frames: Buffer[], key: string): Message {
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  if (at < 0 || frames.length < at + 6) throw new Error('malformed Jupyter message: no <IDS|MSG> delimiter or missing parts');
  const signature = Buffer.from(frames[at + 1].toString());
  const parts = frames.slice(at + 2, at + 6);
  const expected = Buffer.from(sign(key, parts));
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    throw new Error('Jupyter message with a wrong HMAC signature');
  }
  const [header, parent_header, metadata, content] = parts.map((p) => JSON.parse(p.toString()));
  return { header, parent_header, metadata, content };
}
