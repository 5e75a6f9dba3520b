"""The Lua helpers the state-writing scripts share (prepended to their text): the
console's indexes (``_INDEX``: ``ix_reindex``, ``ix_forget``) and the per-minute
history (``_MINUTE``: ``mn_task``, ``mn_flush``).
"""

from __future__ import annotations

from backend import history
from backend.protocol import DEFAULT_TASK

# -- the console's indexes (see backend.keys: INDEX_*) ----------------------------------
# ``ix_reindex(ids, states, fresh)`` keeps the indexes in step with states just stored:
# it reads status, worker, name and queue from each state's JSON (the top-level ones:
# they come before the payload and the timeline, and a quote inside a string value is
# escaped, so no string value can hold the key), moves the id between the sorted sets
# of the old and new values (scored by creation time), and keeps the finished-time and
# duration sets. ``fresh``: a new submit (the creation time may have changed).
_INDEX = """
local IX, IX_META, IX_IDS = '@IX@', '@META@', '@IDS@'
local IX_FINISHED, IX_DURATION, IX_TASKS = '@FINISHED@', '@DURATION@', '@TASKS@'
local IX_FIELDS = {'status', 'worker', 'name', 'queue'}
local IX_FINAL = {completed = true, failed = true, cancelled = true}
local function ix_call(command, key, list, step)
    for first = 1, #list, step do
        redis.call(command, key, unpack(list, first, math.min(first + step - 1, #list)))
    end
end
local function ix_str(state, key)
    local at = string.find(state, '"' .. key .. '":"', 1, true)
    if not at then return nil end
    local value = string.match(state, '^([^"\\\\]*)"', at + #key + 4)
    if value then return value end
    local ok, decoded = pcall(cjson.decode, state)
    if ok and type(decoded) == 'table' and type(decoded[key]) == 'string' then
        return decoded[key]
    end
    return nil
end
local function ix_num(state, key)
    return tonumber(string.match(state, '"' .. key .. '":(%-?[%d%.eE%+%-]+)'))
end
local function ix_now()
    local now = redis.call('TIME')
    return tonumber(now[1]) + tonumber(now[2]) / 1e6
end
local function ix_reindex(ids, states, fresh)
    local n = #ids
    if n == 0 then return end
    local old = redis.call('HMGET', IX_META, unpack(ids))
    local scores = redis.call('ZMSCORE', IX_TASKS, unpack(ids))
    local adds, rems, meta, new_ids, indexed = {}, {}, {}, {}, {}
    local finished, durations, unfinished = {}, {}, {}
    local function push(sets, key, a, b)
        local list = sets[key]
        if not list then list = {}; sets[key] = list end
        list[#list + 1] = a
        if b then list[#list + 1] = b end
    end
    for i = 1, n do
        local id, state, was = ids[i], states[i], old[i]
        local now = {ix_str(state, 'status') or 'pending', ix_str(state, 'worker') or ''}
        if was and not fresh then  -- a write: name and queue stay what they were
            local name, queue = string.match(was, '^[^\\t]*\\t[^\\t]*\\t([^\\t]*)\\t(.*)$')
            now[3], now[4] = name or '', queue or 'default'
        else
            now[3], now[4] = ix_str(state, 'name') or '', ix_str(state, 'queue') or 'default'
        end
        local line = table.concat(now, '\\t')
        if fresh or was ~= line then
            local score = tonumber(scores[i])
            if not score then
                score = ix_num(state, 'created') or ix_now()
                indexed[#indexed + 1] = score
                indexed[#indexed + 1] = id
            end
            local before = {}
            if was then
                for value in string.gmatch(was .. '\\t', '([^\\t]*)\\t') do
                    before[#before + 1] = value
                end
            else
                new_ids[#new_ids + 1] = 0
                new_ids[#new_ids + 1] = id
            end
            for f = 1, 4 do
                if before[f] ~= now[f] then
                    if before[f] then push(rems, IX .. IX_FIELDS[f] .. ':' .. before[f], id) end
                    push(adds, IX .. IX_FIELDS[f] .. ':' .. now[f], score, id)
                elseif fresh then
                    push(adds, IX .. IX_FIELDS[f] .. ':' .. now[f], score, id)
                end
            end
            meta[#meta + 1] = id
            meta[#meta + 1] = line
            if IX_FINAL[now[1]] then
                if fresh or not IX_FINAL[before[1] or ''] then
                    local at = ix_num(state, 'finished') or ix_now()
                    finished[#finished + 1] = at
                    finished[#finished + 1] = id
                    durations[#durations + 1] = math.max(0, at - score)
                    durations[#durations + 1] = id
                end
            elseif IX_FINAL[before[1] or ''] then
                unfinished[#unfinished + 1] = id
            end
        end
    end
    ix_call('ZADD', IX_TASKS, indexed, 2000)
    for key, list in pairs(rems) do ix_call('ZREM', key, list, 2000) end
    for key, list in pairs(adds) do ix_call('ZADD', key, list, 2000) end
    ix_call('HSET', IX_META, meta, 2000)
    ix_call('ZADD', IX_IDS, new_ids, 2000)
    ix_call('ZADD', IX_FINISHED, finished, 2000)
    ix_call('ZADD', IX_DURATION, durations, 2000)
    ix_call('ZREM', IX_FINISHED, unfinished, 2000)
    ix_call('ZREM', IX_DURATION, unfinished, 2000)
end
-- Drops every index entry of ``ids`` (their states are being forgotten).
local function ix_forget(ids)
    if #ids == 0 then return end
    local old = redis.call('HMGET', IX_META, unpack(ids))
    local rems = {}
    for i = 1, #ids do
        if old[i] then
            local f = 1
            for value in string.gmatch(old[i] .. '\\t', '([^\\t]*)\\t') do
                local key = IX .. IX_FIELDS[f] .. ':' .. value
                rems[key] = rems[key] or {}
                table.insert(rems[key], ids[i])
                f = f + 1
            end
        end
    end
    for key, list in pairs(rems) do ix_call('ZREM', key, list, 2000) end
    for _, key in ipairs({IX_IDS, IX_FINISHED, IX_DURATION, IX_TASKS}) do
        ix_call('ZREM', key, ids, 2000)
    end
    ix_call('HDEL', IX_META, ids, 2000)
end
"""
# The key names (@IX@...) are filled in per layout: backend.scripts.render.

# -- the per-minute history (see backend.history) ------------------------------------
# ``mn_task(what, state)`` counts ``what`` (submitted, completed, failed, retried) for
# the task whose state JSON is ``state``: in total, per queue and per name, and, for a
# finished task, its latency in the histogram. ``mn_flush()`` adds what was counted to
# the current minute's hash (one HINCRBY per field) and renews its expiry. Needs _INDEX.
# @MN@ (the minute prefix) is filled in per layout, like _INDEX's names.
_MINUTE = """
local MN_PREFIX, MN_KEEP, MN_FIELDS, MN_OTHER = '@MN@', @KEEP@, @FIELDS@, '@OTHER@'
local MN_BOUNDS = {@BOUNDS@}
local MN_DEFAULT_NAME = '@NAME@'
local mn_counts, mn_named, mn_any = {}, {}, false
local function mn_bump(tab, field, n) tab[field] = (tab[field] or 0) + n; mn_any = true end
local function mn_task(what, state)
    mn_bump(mn_counts, what, 1)
    local queue = ix_str(state, 'queue') or 'default'
    local name = ix_str(state, 'name') or MN_DEFAULT_NAME
    mn_bump(mn_named, 'q:' .. queue .. ':' .. what, 1)
    mn_bump(mn_named, 'n:' .. name .. ':' .. what, 1)
    if what == 'completed' or what == 'failed' then
        local created, finished = ix_num(state, 'created'), ix_num(state, 'finished')
        if created and finished then
            local took = math.max(0, finished - created)
            local bucket = #MN_BOUNDS
            for b = 1, #MN_BOUNDS do
                if took <= MN_BOUNDS[b] then bucket = b - 1; break end
            end
            mn_bump(mn_counts, 'l:' .. bucket, 1)
            mn_bump(mn_counts, 'lms', math.floor(took * 1000 + 0.5))
        end
    end
end
local function mn_flush()
    if not mn_any then return end
    local now = redis.call('TIME')
    local key = MN_PREFIX .. math.floor(tonumber(now[1]) / 60)
    local crowded = redis.call('HLEN', key) >= MN_FIELDS
    for field, n in pairs(mn_counts) do redis.call('HINCRBY', key, field, n) end
    for field, n in pairs(mn_named) do
        if crowded then
            field = string.sub(field, 1, 2) .. MN_OTHER .. string.match(field, '(:[^:]*)$')
        end
        redis.call('HINCRBY', key, field, n)
    end
    redis.call('EXPIRE', key, MN_KEEP)
    mn_counts, mn_named, mn_any = {}, {}, false
end
"""
for _name, _value in {
    "@KEEP@": str(history.MINUTE_KEEP),
    "@FIELDS@": str(history.MINUTE_FIELDS),
    "@OTHER@": history.OTHER,
    "@BOUNDS@": ", ".join(repr(b) for b in history.LATENCY_BOUNDS),
    "@NAME@": DEFAULT_TASK,
}.items():
    _MINUTE = _MINUTE.replace(_name, _value)
