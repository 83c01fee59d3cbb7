// Who holds which sockets, across instances: the connections API lists them and the
// per-user cap (FREE_/PRO_WS_CONNECTIONS) counts them. In process without Redis; with
// Redis one hash per user (field = connection id, value = the entry as JSON), where the
// cap check and the insert are one Lua script, so two instances admitting a user's
// sockets at once cannot both pass the cap. Each instance re-stamps its own entries on
// every heartbeat; an entry not stamped for STALE_AFTER_MS (its instance died without
// cleaning up) is ignored and deleted, so a crashed instance does not hold a user's
// quota forever. If Redis fails, the instance falls back to what it knows locally and
// logs once: sockets keep working, the cross-instance view returns with Redis.
import { cacheKey } from '../../platform/cache-keys.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Redis } from '../../platform/redis.ts';

export interface ConnectionEntry {
  id: string;
  user_id: string;
  session_id: string;
  opened_at: string;
  ip: string;
  user_agent: string | null;
  subscriptions: string[];
  instance: string;
}

export interface ConnectionRegistry {
  /** Adds the entry unless the user already holds `cap` connections; false when refused. */
  add: (entry: ConnectionEntry, cap: number) => Promise<boolean>;
  /** Replaces an entry the registry holds (subscriptions changed). */
  update: (entry: ConnectionEntry) => Promise<void>;
  remove: (userId: string, id: string) => Promise<void>;
  list: (userId: string) => Promise<ConnectionEntry[]>;
  /** Re-stamps this instance's live entries (called on every heartbeat). */
  refresh: (entries: ConnectionEntry[]) => Promise<void>;
}

interface Stamped extends ConnectionEntry {
  seen: number;
}

// KEYS[1] user hash; ARGV: now, stale-after ms, cap, id, entry JSON.
const ADD_SCRIPT = `
local all = redis.call('HGETALL', KEYS[1])
local live = 0
for i = 1, #all, 2 do
  local ok, entry = pcall(cjson.decode, all[i + 1])
  if ok and type(entry) == 'table' and tonumber(entry.seen) ~= nil and tonumber(entry.seen) >= tonumber(ARGV[1]) - tonumber(ARGV[2]) then
    live = live + 1
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
if live >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[4], ARGV[5])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 4)
return 1
`;

export function createConnectionRegistry(deps: { redis?: Redis | undefined; logger: Logger; staleAfterMs: number; now: () => number }): ConnectionRegistry {
  const { redis, logger, staleAfterMs, now } = deps;
  const local = new Map<string, Map<string, ConnectionEntry>>();

  const localAdd = (entry: ConnectionEntry) => {
    let mine = local.get(entry.user_id);
    if (mine === undefined) {
      mine = new Map();
      local.set(entry.user_id, mine);
    }
    mine.set(entry.id, entry);
  };
  const localRemove = (userId: string, id: string) => {
    const mine = local.get(userId);
    mine?.delete(id);
    if (mine?.size === 0) local.delete(userId);
  };
  const localList = (userId: string) => [...(local.get(userId)?.values() ?? [])];

  if (redis === undefined) {
    return {
      add: (entry, cap) => {
        if (localList(entry.user_id).length >= cap) return Promise.resolve(false);
        localAdd(entry);
        return Promise.resolve(true);
      },
      update: (entry) => {
        if (local.get(entry.user_id)?.has(entry.id) === true) localAdd(entry);
        return Promise.resolve();
      },
      remove: (userId, id) => {
        localRemove(userId, id);
        return Promise.resolve();
      },
      list: (userId) => Promise.resolve(localList(userId)),
      refresh: () => Promise.resolve(),
    };
  }

  const key = (userId: string) => cacheKey('ws-connections', userId);
  const stamp = (entry: ConnectionEntry): string => JSON.stringify({ ...entry, seen: now() } satisfies Stamped);
  let warned = false;
  const failed = (err: unknown, operation: string) => {
    if (!warned) logger.warn({ err, event: 'ws_registry_redis_failed', operation }, 'connection registry: redis unavailable; using this instance\'s connections only');
    warned = true;
  };
  const ok = () => {
    warned = false;
  };

  return {
    async add(entry, cap) {
      try {
        const admitted = (await redis.eval(ADD_SCRIPT, 1, key(entry.user_id), now(), staleAfterMs, cap, entry.id, stamp(entry))) === 1;
        ok();
        if (admitted) localAdd(entry);
        return admitted;
      } catch (err) {
        failed(err, 'add');
        if (localList(entry.user_id).length >= cap) return false;
        localAdd(entry);
        return true;
      }
    },
    async update(entry) {
      if (local.get(entry.user_id)?.has(entry.id) !== true) return;
      localAdd(entry);
      try {
        await redis.hset(key(entry.user_id), entry.id, stamp(entry));
        ok();
      } catch (err) {
        failed(err, 'update');
      }
    },
    async remove(userId, id) {
      localRemove(userId, id);
      try {
        await redis.hdel(key(userId), id);
        ok();
      } catch (err) {
        failed(err, 'remove');
      }
    },
    async list(userId) {
      try {
        const all = await redis.hgetall(key(userId));
        ok();
        const cutoff = now() - staleAfterMs;
        const entries: ConnectionEntry[] = [];
        for (const value of Object.values(all)) {
          try {
            const { seen, ...entry } = JSON.parse(value) as Stamped;
            if (seen >= cutoff) entries.push(entry);
          } catch {
            // A malformed field is skipped; the next add prunes it.
          }
        }
        return entries;
      } catch (err) {
        failed(err, 'list');
        return localList(userId);
      }
    },
    async refresh(entries) {
      if (entries.length === 0) return;
      try {
        const pipeline = redis.pipeline();
        for (const entry of entries) {
          pipeline.hset(key(entry.user_id), entry.id, stamp(entry));
          pipeline.pexpire(key(entry.user_id), staleAfterMs * 4);
        }
        await pipeline.exec();
        ok();
      } catch (err) {
        failed(err, 'refresh');
      }
    },
  };
}
