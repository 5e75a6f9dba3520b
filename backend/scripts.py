"""The Lua scripts :class:`backend.store.TaskStore` runs: each does, in one command and
one reply, what would otherwise be a command per task. Each states its KEYS and ARGV.
"""

PROMOTE_RETRIES = """
-- KEYS: retry schedule, stream. ARGV: now, limit, the task field. Moves due tasks.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, entry in ipairs(due) do
    redis.call('XADD', KEYS[2], '*', ARGV[3], entry)
    redis.call('ZREM', KEYS[1], entry)
end
return #due
"""

SUBMIT = """
-- KEYS: states, index, stream, channel, counters. ARGV: n, the task field, then n
-- ids, n states, n creation times, n tasks, n pending updates. The states come first:
-- a worker's update must never be overwritten by the pending one.
local n, field = tonumber(ARGV[1]), ARGV[2]
local ids, states, scores, tasks, updates = 2, 2 + n, 2 + 2 * n, 2 + 3 * n, 2 + 4 * n
for first = 1, n, 1000 do
    local hset, zadd = {}, {}
    for i = first, math.min(first + 999, n) do
        hset[#hset + 1] = ARGV[ids + i]
        hset[#hset + 1] = ARGV[states + i]
        zadd[#zadd + 1] = ARGV[scores + i]
        zadd[#zadd + 1] = ARGV[ids + i]
    end
    redis.call('HSET', KEYS[1], unpack(hset))
    redis.call('ZADD', KEYS[2], unpack(zadd))
end
for i = 1, n do redis.call('XADD', KEYS[3], '*', field, ARGV[tasks + i]) end
for i = 1, n do redis.call('PUBLISH', KEYS[4], ARGV[updates + i]) end
redis.call('HINCRBY', KEYS[5], 'submitted', n)
return redis.call('ZCARD', KEYS[2])
"""

WRITE = """
-- KEYS: channel, states, counters, stream, cancelled. ARGV: group, then how many
-- updates, state fields+values, counter names+increments, acks, forgotten cancels,
-- then those lists in that order. The acks come after the states are written.
local sizes = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
               tonumber(ARGV[5]), tonumber(ARGV[6])}
local at = 7
local function each(size, step, call)
    for first = at, at + size - 1, step do
        call(first, math.min(first + step, at + size) - 1)
    end
    at = at + size
end
each(sizes[1], 1, function(i) redis.call('PUBLISH', KEYS[1], ARGV[i]) end)
each(sizes[2], 2000, function(i, j) redis.call('HSET', KEYS[2], unpack(ARGV, i, j)) end)
each(sizes[3], 2, function(i) redis.call('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1]) end)
each(sizes[4], 2000, function(i, j)
    redis.call('XACK', KEYS[4], ARGV[1], unpack(ARGV, i, j))
end)
each(sizes[5], 2000, function(i, j) redis.call('HDEL', KEYS[5], unpack(ARGV, i, j)) end)
return 0
"""
