"""The console's indexes in Lua (``_INDEX``: ``ix_reindex``, ``ix_forget``), which the
state-writing scripts keep: with the per-minute history (:mod:`backend.scripts.minutes`)
it is their upkeep, built per call when used (:mod:`backend.scripts.upkeep`).
"""

from __future__ import annotations

from backend.protocol import SUBMITTER

# -- the console's indexes (see backend.keys: INDEX_*) ----------------------------------
# Each task is in one sorted set per indexed value (status, worker, name, queue; scored
# by creation time; no worker, or the submitter's name, is not indexed as a worker),
# in the id set (for prefix search),
# and, once finished, in the finished-time and duration sets; the meta hash keeps its
# indexed values as one line ("status\tworker\tname\tqueue").
# The one rule is ``ix_move(b, id, was, now, score, fresh, state)``: it adds to the
# batch ``b`` (from ``ix_batch()``; ``ix_flush(b)`` writes it) what moves task ``id``
# from its meta line ``was`` (nil: not indexed) to the values ``now``. ``score``: its
# creation time (nil: read ``created`` from ``state``, or now, and add it to the task
# index); ``fresh``: a new submit (the creation time may have changed: every set is
# written again); ``state``: its JSON, read only for the finished time when it
# finishes. It returns the score and the finished time it read (nil: none read), or
# nothing when nothing moved. Two ways in:
# - ``ix_reindex(ids, states, fresh)``: states just stored, their values read from the
#   JSON (the top-level keys: they come before the payload and the timeline, and a
#   quote inside a string value is escaped, so no string value can hold the key), the
#   old values from the meta hash; with ``seen`` (a table), what it read of each task
#   that moved: ``seen[id] = {name, queue, score, finished}`` (see ``mn_seen``);
# - ``ix_new(b, ids, pairs, now)``: tasks whose ids were never seen and that all have
#   the values ``now`` (not finished: a new submit), ``pairs`` their creation times
#   and ids as ZADD takes them: nothing to read, and the same list for every set.
_INDEX = """
local IX, IX_META, IX_IDS = '@IX@', '@META@', '@IDS@'
local IX_FINISHED, IX_DURATION, IX_TASKS = '@FINISHED@', '@DURATION@', '@TASKS@'
local IX_FIELDS = {'status', 'worker', 'name', 'queue'}
local IX_FINAL = {completed = true, failed = true, cancelled = true}
-- Values that name no worker are not indexed: none, and the submitter's (a pending task)
local IX_NOT_INDEXED = {{}, {[''] = true, ['@SUBMITTER@'] = true}, {}, {}}
local ix_keys = {{}, {}, {}, {}}
local function ix_key(f, value)
    local key = ix_keys[f][value]
    if not key then
        key = IX .. IX_FIELDS[f] .. ':' .. value
        ix_keys[f][value] = key
    end
    return key
end
-- The set a task whose field ``f`` has ``value`` is in (nil: none), and the meta line
-- of the values ``now``: what every way in writes.
local function ix_set(f, value)
    if IX_NOT_INDEXED[f][value] then return nil end
    return ix_key(f, value)
end
local function ix_line(now)
    return now[1] .. '\\t' .. now[2] .. '\\t' .. now[3] .. '\\t' .. now[4]
end
local function ix_call(command, key, list, step)
    for first = 1, #list, step do
        redis.call(command, key, unpack(list, first, math.min(first + step - 1, #list)))
    end
end
-- The marks of the keys read below, as literals: a string a script builds costs about
-- a microsecond per call, a literal nothing.
local IX_STR_MARKS = {status = '"status":"', worker = '"worker":"', name = '"name":"',
                      queue = '"queue":"'}
local IX_NUM_MARKS = {created = '"created":', finished = '"finished":'}
-- A top-level string or number of a state's JSON: the first '"key":' is the top-level
-- one (they come before the payload and the timeline, and a quote inside a string
-- value is escaped, so no string value can hold one). Found plainly, then read where
-- found: a pattern search from every position of a state costs more than the rest of
-- a write.
local function ix_str(state, key)
    local at = string.find(state, IX_STR_MARKS[key] or ('"' .. key .. '":"'), 1, true)
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
    local mark, from = IX_NUM_MARKS[key] or ('"' .. key .. '":'), 1
    while true do
        local at = string.find(state, mark, from, true)
        if not at then return nil end
        local value = tonumber(string.match(state, '^%-?[%d%.eE%+%-]+', at + #mark))
        if value then return value end
        from = at + 1
    end
end
local function ix_now()
    local now = redis.call('TIME')
    return tonumber(now[1]) + tonumber(now[2]) / 1e6
end
local function ix_batch()
    return {adds = {}, rems = {}, meta = {}, ids = {}, indexed = {}, bulk = {},
            finished = {}, durations = {}, unfinished = {}}
end
local function ix_push(sets, key, a, b)
    local list = sets[key]
    if not list then list = {}; sets[key] = list end
    local n = #list
    list[n + 1] = a
    if b then list[n + 2] = b end
end
local IX_NONE = {}
local function ix_move(b, id, was, now, score, fresh, state)
    local line = ix_line(now)
    if was == line and not fresh then return end
    if not score then
        score = ix_num(state, 'created') or ix_now()
        b.indexed[#b.indexed + 1] = score
        b.indexed[#b.indexed + 1] = id
    end
    local before = IX_NONE
    if was then
        before = {}
        for value in string.gmatch(was .. '\\t', '([^\\t]*)\\t') do
            before[#before + 1] = value
        end
    else
        local n = #b.ids
        b.ids[n + 1] = '0'
        b.ids[n + 2] = id
    end
    for f = 1, 4 do
        local old, value = before[f], now[f]
        if old ~= value or fresh then
            local from, to = old and old ~= value and ix_set(f, old), ix_set(f, value)
            if from then ix_push(b.rems, from, id) end
            if to then ix_push(b.adds, to, score, id) end
        end
    end
    local n = #b.meta
    b.meta[n + 1] = id
    b.meta[n + 2] = line
    local finished
    if IX_FINAL[now[1]] then
        if fresh or not IX_FINAL[before[1] or ''] then
            finished = ix_num(state, 'finished')
            local at = finished or ix_now()
            b.finished[#b.finished + 1] = at
            b.finished[#b.finished + 1] = id
            b.durations[#b.durations + 1] = math.max(0, at - tonumber(score))
            b.durations[#b.durations + 1] = id
        end
    elseif IX_FINAL[before[1] or ''] then
        b.unfinished[#b.unfinished + 1] = id
    end
    return score, finished
end
local function ix_new(b, ids, pairs, now)
    for f = 1, 4 do
        local key = ix_set(f, now[f])
        if key then b.bulk[#b.bulk + 1] = {key, pairs} end
    end
    local line, n, m = ix_line(now), #b.ids, #b.meta
    for i = 1, #ids do
        b.ids[n + 1], b.ids[n + 2], n = '0', ids[i], n + 2
        b.meta[m + 1], b.meta[m + 2], m = ids[i], line, m + 2
    end
end
local function ix_flush(b)
    ix_call('ZADD', IX_TASKS, b.indexed, 2000)
    for key, list in pairs(b.rems) do ix_call('ZREM', key, list, 2000) end
    for key, list in pairs(b.adds) do ix_call('ZADD', key, list, 2000) end
    for _, bulk in ipairs(b.bulk) do ix_call('ZADD', bulk[1], bulk[2], 2000) end
    ix_call('HSET', IX_META, b.meta, 2000)
    ix_call('ZADD', IX_IDS, b.ids, 2000)
    ix_call('ZADD', IX_FINISHED, b.finished, 2000)
    ix_call('ZADD', IX_DURATION, b.durations, 2000)
    ix_call('ZREM', IX_FINISHED, b.unfinished, 2000)
    ix_call('ZREM', IX_DURATION, b.unfinished, 2000)
end
local function ix_reindex(ids, states, fresh, seen)
    local n = #ids
    if n == 0 then return end
    local old = redis.call('HMGET', IX_META, unpack(ids))
    local scores = redis.call('ZMSCORE', IX_TASKS, unpack(ids))
    local b = ix_batch()
    for i = 1, n do
        local state, was = states[i], old[i]
        local now = {ix_str(state, 'status') or 'pending', ix_str(state, 'worker') or ''}
        if was and not fresh then  -- a write: name and queue stay what they were
            local name, queue = string.match(was, '^[^\\t]*\\t[^\\t]*\\t([^\\t]*)\\t(.*)$')
            now[3], now[4] = name or '', queue or 'default'
        else
            now[3], now[4] = ix_str(state, 'name') or '', ix_str(state, 'queue') or 'default'
        end
        local score, finished = ix_move(b, ids[i], was or nil, now, scores[i] or nil, fresh, state)
        if seen and score then seen[ids[i]] = {now[3], now[4], score, finished} end
    end
    ix_flush(b)
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
                ix_push(rems, ix_key(f, value), ids[i])
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
_INDEX = _INDEX.replace("@SUBMITTER@", SUBMITTER)
# The key names (@IX@...) are filled in per layout: backend.scripts.render.
