"""The queue scripts: ``PROMOTE_RETRIES`` (due tasks into their stream) and
``READ_FIRST`` (read from the first unpaused queue, in priority order).
"""

from __future__ import annotations

PROMOTE_RETRIES = """
-- KEYS: retry schedule, stream. ARGV: now, limit, the task field. Moves due tasks.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, entry in ipairs(due) do
    redis.call('XADD', KEYS[2], '*', ARGV[3], entry)
    redis.call('ZREM', KEYS[1], entry)
end
return #due
"""

READ_FIRST = """
-- KEYS: the paused queues (a set), then the streams of the queues to read, in
-- priority order. ARGV: group, consumer, count, then those queues' names.
-- Reads new entries (XREADGROUP >, not blocking) from the first stream whose queue is
-- not paused and has any: returns {its position, the XREADGROUP reply}. With none,
-- returns {0, the positions of the paused queues...}.
local paused = {0}
for i = 2, #KEYS do
    if redis.call('SISMEMBER', KEYS[1], ARGV[i + 2]) == 1 then
        paused[#paused + 1] = i - 1
    else
        local got = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3],
                               'STREAMS', KEYS[i], '>')
        if got then return {i - 1, got} end
    end
end
return paused
"""
