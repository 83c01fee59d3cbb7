// One WebSocket per tab to /v1/ws (docs/realtime.md). The socket authenticates with its first
// message (a browser cannot set an Authorization header, and a token in the URL is refused),
// renews on `token_expiring` with a freshly refreshed access token, and re-subscribes every
// wanted channel after a reconnect. Pages register channels with `useLive`; a channel is
// subscribed while at least one component wants it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { currentToken, isSignedIn, onAuthChange, refresh } from './api.ts';

export interface LiveMessage {
  type: string;
  channel?: string;
  seq: number;
  [field: string]: unknown;
}
type Handler = (message: LiveMessage) => void;

export type LiveState = 'connecting' | 'live' | 'offline';

const wanted = new Map<string, Set<Handler>>();
const stateListeners = new Set<(s: LiveState) => void>();
let socket: WebSocket | undefined;
let ready = false;
let state: LiveState = 'offline';
let retryMs = 1000;
let retryTimer: ReturnType<typeof setTimeout> | undefined;

function setState(s: LiveState) {
  state = s;
  for (const l of stateListeners) l(s);
}

function send(message: object) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function connect() {
  if (socket !== undefined || !isSignedIn() || wanted.size === 0) return;
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`);
  socket = ws;
  ready = false;
  setState('connecting');
  ws.onopen = () => send({ type: 'auth', token: currentToken() });
  ws.onmessage = (event: MessageEvent<string>) => {
    let message: LiveMessage;
    try {
      message = JSON.parse(event.data) as LiveMessage;
    } catch {
      return;
    }
    if (message.type === 'ready') {
      if (!ready) {
        ready = true;
        retryMs = 1000;
        setState('live');
        if (wanted.size > 0) send({ type: 'subscribe', channels: [...wanted.keys()].slice(0, 50) });
      }
      return;
    }
    if (message.type === 'token_expiring') {
      void refresh().then((ok) => ok && send({ type: 'auth', token: currentToken() }));
      return;
    }
    const channel = message.channel;
    if (channel === undefined) return;
    for (const h of wanted.get(channel) ?? []) h(message);
  };
  ws.onclose = (event) => {
    if (socket === ws) socket = undefined;
    ready = false;
    setState('offline');
    // 4401: the token expired or the session was revoked; refresh decides whether to go on.
    const again = () => {
      retryTimer = undefined;
      if (event.code === 4401) void refresh().then((ok) => ok && connect());
      else connect();
    };
    // 4000: the user closed this connection from the Account page, so it stays closed until
    // a reload; 4429: the plan's connection cap, so wait longer before trying again.
    if (wanted.size > 0 && isSignedIn() && event.code !== 4000) {
      retryTimer = setTimeout(again, event.code === 4429 ? Math.max(retryMs, 15_000) : retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    }
  };
}

function disconnect() {
  if (retryTimer !== undefined) clearTimeout(retryTimer);
  retryTimer = undefined;
  const ws = socket;
  socket = undefined;
  ws?.close(1000);
}

onAuthChange((signedIn) => {
  if (!signedIn) disconnect();
  else connect();
});

function want(channel: string, handler: Handler) {
  let set = wanted.get(channel);
  if (set === undefined) {
    set = new Set();
    wanted.set(channel, set);
    if (ready) send({ type: 'subscribe', channels: [channel] });
  }
  set.add(handler);
  connect();
}

function unwant(channel: string, handler: Handler) {
  const set = wanted.get(channel);
  if (set === undefined) return;
  set.delete(handler);
  if (set.size > 0) return;
  wanted.delete(channel);
  if (ready) send({ type: 'unsubscribe', channels: [channel] });
  if (wanted.size === 0) disconnect();
}

/** Calls `handler` for every server message of `channels` while the component is mounted. */
export function useLive(channels: string[], handler: Handler): void {
  const current = useRef(handler);
  current.current = handler;
  const key = channels.join('\n');
  useEffect(() => {
    const h: Handler = (m) => current.current(m);
    const list = key === '' ? [] : key.split('\n');
    for (const c of list) want(c, h);
    return () => {
      for (const c of list) unwant(c, h);
    };
  }, [key]);
}

/** The socket's state, for a "live" badge. */
export function useLiveState(): LiveState {
  const [s, setS] = useState(state);
  useEffect(() => {
    stateListeners.add(setS);
    setS(state);
    return () => void stateListeners.delete(setS);
  }, []);
  return s;
}
