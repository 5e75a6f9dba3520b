"""Housekeeping scripts: ``REQUEST_CANCEL`` (record and announce a cancel) and
``FORGET_CONSUMER`` (drop a consumer that holds nothing).
"""

from __future__ import annotations

REQUEST_CANCEL = """
-- KEYS: states, cancelled. ARGV: task id, now, the control message (published on
-- @CONTROL@, filled in per layout).
-- Records and announces a cancel request unless the task is unknown or finished, in
-- one step: a request that races the task's outcome leaves nothing behind. Returns
-- the task's stored state (nil for an unknown task).
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local ok, state = pcall(cjson.decode, raw)
if ok and type(state) == 'table' then
    local status = state['status']
    if status == 'completed' or status == 'failed' or status == 'cancelled' then
        return raw
    end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PUBLISH', '@CONTROL@', ARGV[3])
return raw
"""

FORGET_CONSUMER = """
-- KEYS: stream. ARGV: group, consumer. Removes the consumer from the group if it
-- holds no entry (checked in the same step, so nothing it holds is ever dropped).
-- Returns 1 if removed.
local held = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #held > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
"""
