"""The Lua scripts of the Redis store (:mod:`.redis`), and the Python side of their arguments
and replies. Every read-modify-write of the store is one of these scripts: Redis runs a script
without interleaving any other command, so each is atomic across every process and host on that
Redis. The replicated store (:mod:`.redis_ha`) runs them too, made safe to retry
(:mod:`.redis_ha_scripts`).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "ACK",
    "ADD_WITHIN",
    "ADD_WITHIN_NAMED",
    "APPEND",
    "CREATE",
    "ENQUEUE",
    "GET_BY_REQUEST",
    "LEASE",
    "UPDATE_IF",
    "argv_pairs",
    "reply_hash",
    "reply_text",
]

CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SET', KEYS[2], ARGV[2])
redis.call('EXPIREAT', KEYS[1], ARGV[1])
redis.call('EXPIREAT', KEYS[2], ARGV[1])
return 0
"""

# ARGV: n_expect, (field, json)*, n_status_in, json*, n_changes, (field, json)*
UPDATE_IF = """
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return false end
local i = 1
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  if redis.call('HGET', key, ARGV[i]) ~= ARGV[i + 1] then return false end
  i = i + 2
end
n = tonumber(ARGV[i]); i = i + 1
if n > 0 then
  local status = redis.call('HGET', key, 'status')
  local found = false
  for _ = 1, n do
    if status == ARGV[i] then found = true end
    i = i + 1
  end
  if not found then return false end
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('HSET', key, ARGV[i], ARGV[i + 1])
  i = i + 2
end
local version = tonumber(redis.call('HGET', key, 'version')) + 1
redis.call('HSET', key, 'version', string.format('%d', version))
return redis.call('HGETALL', key)
"""

# ARGV: ttl_ms, n_increments, (name, amount)*, n_limits, (name, limit)*
ADD_WITHIN = """
local key = KEYS[1]
local ttl = tonumber(ARGV[1])
local values = {}
local function current(name)
  if values[name] == nil then values[name] = tonumber(redis.call('HGET', key, name) or '0') end
  return values[name]
end
local i = 2
local n = tonumber(ARGV[i]); i = i + 1
local touched = {}
for _ = 1, n do
  values[ARGV[i]] = current(ARGV[i]) + tonumber(ARGV[i + 1])
  touched[#touched + 1] = ARGV[i]
  i = i + 2
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  if current(ARGV[i]) > tonumber(ARGV[i + 1]) then return false end
  i = i + 2
end
for _, name in ipairs(touched) do
  redis.call('HSET', key, name, string.format('%d', values[name]))
end
if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
return redis.call('HGETALL', key)
"""

# ``ADD_WITHIN`` applied at most once per name: KEYS[#KEYS] is the ``ctrop:`` hash (name -> the
# values the add produced, JSON), ARGV[#ARGV] the name; ARGV[1] (the TTL) also keeps the hash.
ADD_WITHIN_NAMED = f"""
local ops, once = KEYS[#KEYS], ARGV[#ARGV]
local applied = redis.call('HGET', ops, once)
if applied then return cjson.decode(applied) end
local function body()
{ADD_WITHIN}
end
local after = body()
if after then
  redis.call('HSET', ops, once, cjson.encode(after))
  local ttl = tonumber(ARGV[1])
  if redis.call('PTTL', ops) < ttl then redis.call('PEXPIRE', ops, ttl) end
end
return after
"""

# The wallet-facing lookup in one round trip: KEYS[1] is the req: index, ARGV[1] the tx: key
# prefix. (The tx: key is named inside the script, so this assumes one Redis, not a cluster -
# as does everything else here; redis_ha.py is the store for a cluster or Sentinel.)
GET_BY_REQUEST = """
local tx_id = redis.call('GET', KEYS[1])
if not tx_id then return false end
return redis.call('HGETALL', ARGV[1] .. tx_id)
"""

APPEND = """
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return n - 1
"""

# KEYS: zset, payloads, attempts; ARGV: id, payload, due_at, ttl_ms
ENQUEUE = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], 0)
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local ttl = tonumber(ARGV[4])
for i = 1, 3 do
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1
"""

# KEYS: zset, payloads, attempts; ARGV: now, now + lease, limit
LEASE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  local payload = redis.call('HGET', KEYS[2], id)
  if payload then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    out[#out + 1] = id
    out[#out + 1] = payload
    out[#out + 1] = tostring(redis.call('HINCRBY', KEYS[3], id, 1))
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""

ACK = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
"""


def argv_pairs(mapping: Mapping[str, str | int]) -> list[str | int]:
    """``[len, k1, v1, k2, v2, ...]`` - the flat ARGV form the scripts read."""
    flat: list[str | int] = [len(mapping)]
    for key, value in mapping.items():
        flat += [key, value]
    return flat


def reply_text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def reply_hash(flat: list[str]) -> dict[str, str]:
    """An ``HGETALL`` reply (a flat list, from Redis or a script) as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))
