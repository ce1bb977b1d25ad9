"""The replicated Redis store's scripts (:mod:`.redis_ha`): each write safe to retry after a
failover. A write script first looks for its call's token (an ``op:`` marker, or the claim's
value) and, if it is there, answers as the applied call did instead of applying it again; the
single-Redis scripts of :mod:`.redis_scripts` are wrapped so by :func:`once`.
"""

from __future__ import annotations

from . import redis_scripts as lua

__all__ = [
    "ADD_WITHIN_ONCE",
    "APPEND_ONCE",
    "CLAIM",
    "CREATE_INDEX",
    "CREATE_RECORD",
    "ENQUEUE_ONCE",
    "LEASE_ONCE",
    "UPDATE_IF_ONCE",
    "once",
]


def once(script: str, reply: str) -> str:
    """``script`` run at most once per token: KEYS[#KEYS] is the op marker; if it exists the
    call was applied before and ``reply`` (Lua) answers; else the script runs and, unless it
    returned false (nothing applied), leaves the marker for ``ARGV[#ARGV]`` milliseconds."""
    return f"""
local op = KEYS[#KEYS]
if redis.call('EXISTS', op) == 1 then {reply} end
local function body()
{script}
end
local result = body()
if result then redis.call('SET', op, '1', 'PX', ARGV[#ARGV]) end
return result
"""


# KEYS: tx, op; ARGV: retain_until, (field, json)*, op_ttl_ms. false: the id exists.
CREATE_RECORD = once(
    """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
redis.call('HSET', KEYS[1], unpack(ARGV, 2, #ARGV - 1))
redis.call('EXPIREAT', KEYS[1], ARGV[1])
return 0
""",
    "return 0",
)

# KEYS: req; ARGV: "<kind>:<id>", retain_until. Only the record's creator writes this value.
CREATE_INDEX = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then return 0 end
if current then return 1 end
redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[2])
return 0
"""

# KEYS: tx, op; the update's ARGV then op_ttl_ms. Applied before: answer the record as it is.
UPDATE_IF_ONCE = once(lua.UPDATE_IF, "return redis.call('HGETALL', KEYS[1])")
ADD_WITHIN_ONCE = once(lua.ADD_WITHIN, "return redis.call('HGETALL', KEYS[1])")

# KEYS: claim; ARGV: token, ttl seconds
CLAIM = """
local current = redis.call('GET', KEYS[1])
if current then return current == ARGV[1] and 1 or 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""

# KEYS: ev, op; ARGV: event, ttl_ms, op_ttl_ms. The marker holds the event's index.
APPEND_ONCE = """
local seen = redis.call('GET', KEYS[2])
if seen then return tonumber(seen) end
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
redis.call('SET', KEYS[2], n - 1, 'PX', ARGV[3])
return n - 1
"""

# KEYS: zset, payloads, attempts, op; ARGV: as lua.ENQUEUE, op_ttl_ms. 0 (already queued) leaves
# no marker, so a retry answers 0 again.
ENQUEUE_ONCE = once(lua.ENQUEUE.replace("return 0", "return false"), "return 1")

# KEYS: zset, payloads, attempts, op; ARGV: as lua.LEASE, op_ttl_ms. The marker lists the ids the
# first run leased; a retry answers those still leased by that run (their due time is its lease's
# end, not another lease's) with their payloads and attempt counts, and leases nothing more.
LEASE_ONCE = f"""
local op = KEYS[4]
if redis.call('EXISTS', op) == 1 then
  local out = {{}}
  for _, id in ipairs(redis.call('LRANGE', op, 0, -1)) do
    local payload = redis.call('HGET', KEYS[2], id)
    local due = redis.call('ZSCORE', KEYS[1], id)
    if payload and due and tonumber(due) == tonumber(ARGV[2]) then
      out[#out + 1] = id
      out[#out + 1] = payload
      out[#out + 1] = redis.call('HGET', KEYS[3], id) or '1'
    end
  end
  return out
end
local function lease()
{lua.LEASE}
end
local out = lease()
if #out > 0 then
  for i = 1, #out, 3 do redis.call('RPUSH', op, out[i]) end
  redis.call('PEXPIRE', op, ARGV[#ARGV])
end
return out
"""
