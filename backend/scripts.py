"""The Lua scripts :class:`backend.store.TaskStore` runs: each does, in one command and
one reply, what would otherwise be a command per task. Each states its KEYS and ARGV.
"""

from __future__ import annotations

from backend import history, keys
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
for _name, _value in {
    "@IX@": keys.INDEX_PREFIX,
    "@META@": keys.INDEX_META,
    "@IDS@": keys.INDEX_IDS,
    "@FINISHED@": keys.INDEX_FINISHED,
    "@DURATION@": keys.INDEX_DURATION,
    "@TASKS@": keys.TASK_INDEX,
}.items():
    _INDEX = _INDEX.replace(_name, _value)

# -- the per-minute history (see backend.history) ------------------------------------
# ``mn_task(what, state)`` counts ``what`` (submitted, completed, failed, retried) for
# the task whose state JSON is ``state``: in total, per queue and per name, and, for a
# finished task, its latency in the histogram. ``mn_flush()`` adds what was counted to
# the current minute's hash (one HINCRBY per field) and renews its expiry. Needs _INDEX.
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
    "@MN@": keys.MINUTE_PREFIX,
    "@KEEP@": str(history.MINUTE_KEEP),
    "@FIELDS@": str(history.MINUTE_FIELDS),
    "@OTHER@": history.OTHER,
    "@BOUNDS@": ", ".join(repr(b) for b in history.LATENCY_BOUNDS),
    "@NAME@": DEFAULT_TASK,
}.items():
    _MINUTE = _MINUTE.replace(_name, _value)

PROMOTE_RETRIES = """
-- KEYS: retry schedule, stream. ARGV: now, limit, the task field. Moves due tasks.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, entry in ipairs(due) do
    redis.call('XADD', KEYS[2], '*', ARGV[3], entry)
    redis.call('ZREM', KEYS[1], entry)
end
return #due
"""

SUBMIT = (
    _INDEX
    + _MINUTE
    + """
-- KEYS: states, index, stream (or, for delayed tasks, the queue's schedule: a sorted
-- set), channel, counters, cancelled. ARGV: n, the task field, then n ids, n states,
-- n creation times, n tasks, n pending updates, then the id check: '' (none: fresh
-- ids), 'check' or 'replace', then for delayed tasks n due times. The states come
-- first: a worker's update must never be overwritten by the pending one.
-- With a check, a task whose id has an unfinished state is a duplicate (left alone),
-- one whose task finished is refused ('check': then nothing is queued) or queued
-- again from scratch ('replace'). Returns {tasks indexed, one code per task: 'q'
-- queued, 'd' duplicate, 'f' refused (finished), 'r' replaced}.
local n, field = tonumber(ARGV[1]), ARGV[2]
local ids, states, scores, tasks, updates = 2, 2 + n, 2 + 2 * n, 2 + 3 * n, 2 + 4 * n
local mode = ARGV[3 + 5 * n] or ''
local codes, take = {}, {}
if mode ~= '' then
    local FINAL = {completed = true, failed = true, cancelled = true}
    local refused, seen = false, {}
    for i = 1, n do
        local id = ARGV[ids + i]
        local code = 'q'
        if seen[id] then
            code = 'd'
        else
            local old = redis.call('HGET', KEYS[1], id)
            if old then
                -- the first "status" key is the top-level one (it precedes the
                -- payload; a quote inside a string value is escaped)
                local at = string.find(old, '"status":"', 1, true)
                local status = at and string.match(old, '^(%a+)', at + 10)
                if not FINAL[status] then code = 'd'
                elseif mode == 'replace' then code = 'r'
                else code, refused = 'f', true end
            end
        end
        seen[id] = true
        codes[i] = code
        if code ~= 'd' then take[#take + 1] = i end
    end
    if refused then return {redis.call('ZCARD', KEYS[2]), table.concat(codes)} end
else
    for i = 1, n do take[i] = i end
end
for first = 1, #take, 1000 do
    local hset, zadd, del, rid, rstate = {}, {}, {}, {}, {}
    for k = first, math.min(first + 999, #take) do
        local i = take[k]
        local id, state = ARGV[ids + i], ARGV[states + i]
        hset[#hset + 1] = id
        hset[#hset + 1] = state
        zadd[#zadd + 1] = ARGV[scores + i]
        zadd[#zadd + 1] = id
        rid[#rid + 1] = id
        rstate[#rstate + 1] = state
        if codes[i] == 'r' then del[#del + 1] = id end
    end
    redis.call('HSET', KEYS[1], unpack(hset))
    redis.call('ZADD', KEYS[2], unpack(zadd))
    if #del > 0 then redis.call('HDEL', KEYS[6], unpack(del)) end
    ix_reindex(rid, rstate, true)
end
for _, i in ipairs(take) do mn_task('submitted', ARGV[states + i]) end
mn_flush()
local dues = 3 + 5 * n
if #ARGV > dues then
    for _, i in ipairs(take) do redis.call('ZADD', KEYS[3], ARGV[dues + i], ARGV[tasks + i]) end
else
    for _, i in ipairs(take) do redis.call('XADD', KEYS[3], '*', field, ARGV[tasks + i]) end
end
for _, i in ipairs(take) do redis.call('PUBLISH', KEYS[4], ARGV[updates + i]) end
if #take > 0 then redis.call('HINCRBY', KEYS[5], 'submitted', #take) end
return {redis.call('ZCARD', KEYS[2]), table.concat(codes)}
"""
)

_ORDER = """
local RANK = {pending = 0, processing = 1, retrying = 1, completed = 2, failed = 2, cancelled = 2}
local FINAL = {completed = true, failed = true, cancelled = true}
-- A state's (attempt, seq, status), read from its JSON: the first "status" and
-- "attempt" keys are the top-level fields (they come in this order before the
-- payload and the timeline, and a quote inside a string value is escaped, so no
-- string value can hold them).
local find, match = string.find, string.match
local function order(state)
    local at = find(state, '"status":"', 1, true)
    local status = at and match(state, '^(%a+)', at + 10)
    at = find(state, '"attempt":', at or 1, true)
    if not at then return 0, 0, status end
    local attempt, seq = match(state, '^(%-?%d+),"seq":(%-?%d+)', at + 10)
    return tonumber(attempt) or 0, tonumber(seq) or 0, status
end
-- Whether a state at (a, s, status) may replace a stored one: not older by
-- (attempt, seq, rank), and a finished task stays finished (a new submit, not a
-- write, queues it again).
local function newer(a, s, status, sa, ss, sstatus)
    if FINAL[sstatus] and not FINAL[status] then return false end
    if a ~= sa then return a > sa end
    if s ~= ss then return s > ss end
    return (RANK[status] or 0) >= (RANK[sstatus] or 0)
end
"""

WRITE = (
    _INDEX
    + _ORDER
    + _MINUTE
    + """
-- KEYS: channel, states, counters, stream, cancelled, index. ARGV: group, then how
-- many updates, state fields+values, counter names+increments, acks, forgotten
-- cancels, then those lists in that order.
-- A state is stored unless the stored one is newer (see newer). A stored state that
-- finishes its task adds 1 to that status's counter (once: a finished task stays
-- finished), one that retries adds 1 to 'retried'. A task with no state yet (one a
-- Go manager queued) is indexed by its creation time, so retention trims it. The
-- acks come after the states are written.
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
local hset, counts = {}, {}
local function count(name) counts[name] = (counts[name] or 0) + 1 end
each(sizes[2], 1000, function(first, last)
    local ids = {}
    for i = first, last, 2 do ids[#ids + 1] = ARGV[i] end
    local stored = redis.call('HMGET', KEYS[2], unpack(ids))
    for k = 1, #ids do
        local id, state, old = ids[k], ARGV[first + 2 * k - 1], stored[k]
        local a, s, status = order(state)
        local keep, counted = true, FINAL[status]
        if old then
            local sa, ss, sstatus = order(old)
            keep = newer(a, s, status, sa, ss, sstatus)
            counted = FINAL[status] and not FINAL[sstatus]
            if keep and status == 'retrying' and not (sstatus == 'retrying' and sa == a) then
                count('retried')
                mn_task('retried', state)
            end
        else
            local created = tonumber(string.match(state, '"created":([%d%.eE%+%-]+)'))
            if not created then
                local now = redis.call('TIME')
                created = tonumber(now[1]) + tonumber(now[2]) / 1e6
            end
            redis.call('ZADD', KEYS[6], 'NX', created, id)
            if status == 'retrying' then count('retried'); mn_task('retried', state) end
        end
        if keep then
            if counted then count(status); mn_task(status, state) end
            hset[#hset + 1] = id
            hset[#hset + 1] = state
        end
    end
    if #hset > 0 then
        redis.call('HSET', KEYS[2], unpack(hset))
        local kept, written = {}, {}
        for k = 1, #hset, 2 do kept[#kept + 1] = hset[k]; written[#written + 1] = hset[k + 1] end
        ix_reindex(kept, written, false)
        hset = {}
    end
end)
for name, n in pairs(counts) do redis.call('HINCRBY', KEYS[3], name, n) end
mn_flush()
each(sizes[3], 2, function(i) redis.call('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1]) end)
each(sizes[4], 2000, function(i, j)
    redis.call('XACK', KEYS[4], ARGV[1], unpack(ARGV, i, j))
end)
each(sizes[5], 2000, function(i, j) redis.call('HDEL', KEYS[5], unpack(ARGV, i, j)) end)
return 0
"""
)

RECORD = (
    _INDEX
    + _MINUTE
    + """
-- KEYS: states, index, counters, seen workers. ARGV: task id, its state as it was
-- read ('' when there was none), the new state, its creation time, the worker the
-- update names ('' for none), now, then counter names to add 1 to.
-- Notes the worker, then stores the state only if the stored one is still what was
-- read (compare and set: several recorders may run); a new task is indexed.
-- Returns 1 when stored, 0 when the stored state changed meanwhile (read it again).
if ARGV[5] ~= '' then redis.call('HSET', KEYS[4], ARGV[5], ARGV[6]) end
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if (stored or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if not stored then redis.call('ZADD', KEYS[2], 'NX', ARGV[4], ARGV[1]) end
ix_reindex({ARGV[1]}, {ARGV[3]}, false)
for i = 7, #ARGV do
    redis.call('HINCRBY', KEYS[3], ARGV[i], 1)
    mn_task(ARGV[i], ARGV[3])
end
mn_flush()
return 1
"""
)

FORGET = (
    _INDEX
    + """
-- KEYS: states, cancelled. ARGV: task ids. Forgets those tasks: their states, index
-- entries and cancel requests. Returns how many states there were.
local gone = 0
for first = 1, #ARGV, 2000 do
    local ids = {unpack(ARGV, first, math.min(first + 1999, #ARGV))}
    gone = gone + redis.call('HDEL', KEYS[1], unpack(ids))
    redis.call('HDEL', KEYS[2], unpack(ids))
    ix_forget(ids)
end
return gone
"""
)

QUERY = """
-- KEYS: the sort set (the task index: by creation; or the finished or duration set),
-- the states, two scratch keys, the task index, the id set, then the filter sets
-- (each scored by creation time).
-- ARGV: descending (1/0), since, until (creation bounds), id prefix ('' for none),
-- offset, limit, needle ('' for none; lowercased), its JSON form, the rank to walk
-- from, the most entries to walk (0: no bound), count (1/0).
-- Returns {total (-1 when not counted), next rank (-1 at the end), matches skipped,
-- ids...}: the ids of one page, in order. Filters intersect; the walk goes along the
-- smallest set, checking the others with ZMSCORE, so a page costs about its own size
-- when matches are dense, and never a scan of the states unless a needle is given.
local sortset, states, tmp1, tmp2 = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local tasks, idset = KEYS[5], KEYS[6]
local desc, since, till, prefix = ARGV[1] == '1', ARGV[2], ARGV[3], ARGV[4]
local offset, limit, needle, jneedle = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], ARGV[8]
local pos, budget, counting = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11] == '1'
local filters = {}
for i = 7, #KEYS do filters[#filters + 1] = KEYS[i] end
if prefix ~= '' then
    redis.call('ZRANGESTORE', tmp1, idset, '[' .. prefix, '(' .. prefix .. '\\255', 'BYLEX')
    redis.call('ZINTERSTORE', tmp1, 2, tmp1, tasks, 'WEIGHTS', 0, 1)
    filters[#filters + 1] = tmp1
end
if #filters == 0 then filters[1] = tasks end
local sizes = {}
for _, key in ipairs(filters) do sizes[key] = redis.call('ZCARD', key) end
table.sort(filters, function(a, b) return sizes[a] < sizes[b] end)
local ranged = since ~= '-inf' or till ~= '+inf'
local walk, checks, lo, hi = filters[1], {}, since, till
local total = -1
if sortset == tasks then
    for i = 2, #filters do checks[#checks + 1] = filters[i] end
    if counting then
        if #checks == 0 then
            total = redis.call('ZCOUNT', walk, since, till)
        elseif sizes[walk] == 0 then
            total = 0
        else
            local first = walk
            if ranged then
                redis.call('ZRANGESTORE', tmp2, walk, since, till, 'BYSCORE')
                first = tmp2
            end
            total = redis.call('ZINTERCARD', #filters, first, unpack(checks))
            -- Few matches: store them (scored by creation) rather than walk past
            -- many that miss.
            if total <= 50000 and needle == '' then
                local args = {tmp2, #filters, first}
                for _, key in ipairs(checks) do args[#args + 1] = key end
                args[#args + 1] = 'WEIGHTS'
                for i = 1, #filters do args[#args + 1] = i == 1 and 1 or 0 end
                redis.call('ZINTERSTORE', unpack(args))
                walk, checks = tmp2, {}
            end
        end
    end
else
    lo, hi = '-inf', '+inf'
    if #filters == 1 and filters[1] == tasks and not ranged then
        walk = sortset
    else
        local first = filters[1]
        if ranged then
            redis.call('ZRANGESTORE', tmp2, first, since, till, 'BYSCORE')
            first = tmp2
        end
        local args = {tmp2, #filters + 1, sortset, first}
        for i = 2, #filters do args[#args + 1] = filters[i] end
        args[#args + 1] = 'WEIGHTS'
        for i = 0, #filters do args[#args + 1] = i == 0 and 1 or 0 end
        redis.call('ZINTERSTORE', unpack(args))
        walk = tmp2
    end
    if counting then total = redis.call('ZCARD', walk) end
end
local function range(from, count)
    if desc then
        return redis.call('ZRANGE', walk, hi, lo, 'BYSCORE', 'REV', 'LIMIT', from, count)
    end
    return redis.call('ZRANGE', walk, lo, hi, 'BYSCORE', 'LIMIT', from, count)
end
local function matches(id, state)
    if not state then return false end
    if string.find(string.lower(id), needle, 1, true) then return true end
    if not string.find(string.lower(state), jneedle, 1, true) then return false end
    local ok, decoded = pcall(cjson.decode, state)
    if not ok or type(decoded) ~= 'table' then return false end
    for _, field in ipairs({'message', 'error'}) do
        local value = decoded[field]
        if type(value) == 'string' and string.find(string.lower(value), needle, 1, true) then
            return true
        end
    end
    return false
end
local page, skipped, nextpos = {}, 0, -1
if limit > 0 and total ~= 0 then
    if #checks == 0 and needle == '' then
        page = range(offset, limit)
        nextpos = offset + #page
        skipped = offset
    else
        local chunk, walked = 200, 0
        nextpos = pos
        while #page < limit do
            if budget > 0 and walked >= budget then break end
            local ids = range(nextpos, chunk)
            if #ids == 0 then nextpos = -1; break end
            local keep = {}
            for j = 1, #ids do keep[j] = true end
            for _, key in ipairs(checks) do
                local scores = redis.call('ZMSCORE', key, unpack(ids))
                for j = 1, #ids do if not scores[j] then keep[j] = false end end
            end
            local raws = {}
            if needle ~= '' then raws = redis.call('HMGET', states, unpack(ids)) end
            local used = #ids
            for j = 1, #ids do
                if keep[j] and (needle == '' or matches(ids[j], raws[j])) then
                    if skipped < offset then
                        skipped = skipped + 1
                    else
                        page[#page + 1] = ids[j]
                        if #page == limit then used = j; break end
                    end
                end
            end
            nextpos = nextpos + used
            walked = walked + used
            chunk = math.min(chunk * 2, 5000)
        end
    end
end
redis.call('DEL', tmp1, tmp2)
local reply = {total, nextpos, skipped}
for _, id in ipairs(page) do reply[#reply + 1] = id end
return reply
"""

RELEASE = """
-- KEYS: stream. ARGV: group, the task field, entry ids. Each entry still pending in
-- the group is queued again as a new entry and the old one acknowledged and deleted,
-- in one step; an entry acknowledged meanwhile is left alone. Returns the new ids.
local moved = {}
for i = 3, #ARGV do
    local id = ARGV[i]
    local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
    local entry = redis.call('XRANGE', KEYS[1], id, id)
    if #pending == 1 and #entry == 1 then
        local fields = entry[1][2]
        local raw
        for k = 1, #fields, 2 do if fields[k] == ARGV[2] then raw = fields[k + 1] end end
        if raw then
            moved[#moved + 1] = redis.call('XADD', KEYS[1], '*', ARGV[2], raw)
            redis.call('XACK', KEYS[1], ARGV[1], id)
            redis.call('XDEL', KEYS[1], id)
        end
    end
end
return moved
"""

REQUEST_CANCEL = """
-- KEYS: states, cancelled, control channel. ARGV: task id, now, the control message.
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
redis.call('PUBLISH', KEYS[3], ARGV[3])
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
